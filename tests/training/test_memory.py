"""training.memory: with keep_freed_memory called first (as every training entry point's main() does), TensorFlow's large per-step tensors (a catalogue
softmax's) reuse freed heap memory instead of being mapped and faulted in afresh at every step."""

import subprocess
import sys

import pytest

from training.memory import keep_freed_memory

SCRIPT = """
import resource, sys
if sys.argv[1] == "training":
    from training.memory import keep_freed_memory
    keep_freed_memory()  # sets the heap up, as every `python -m training.<stage>` does first
import keras, numpy as np, tensorflow as tf

class Batches(keras.utils.PyDataset):  # fit over a PyDataset: TensorFlow's generator dataset lowers the trim threshold
    def __len__(self):
        return 3
    def __getitem__(self, i):
        return np.ones((8, 4), "float32"), np.ones((8, 1), "float32")

model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
model.compile("sgd", "mse")
if sys.argv[1] == "training":
    from training.memory import keep_freed_memory_callback
    model.fit(Batches(), epochs=1, verbose=0, callbacks=[keep_freed_memory_callback()])
else:  # glibc's defaults
    model.fit(Batches(), epochs=1, verbose=0)

@tf.function
def step(x):  # a 64 MB tensor made and freed by TensorFlow's own threads, as in a training step
    return tf.reduce_sum(tf.tile(x, [4096, 1]))

x = tf.ones((1, 4096))
step(x)
def faults():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        step(x).numpy()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

faults(), faults(), faults()  # the heap grows to the steps' size
print(faults(), faults(), faults())
"""


def step_faults(mode: str) -> list[int]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True, timeout=300, check=True)
    return [int(x) for x in done.stdout.split()[-3:]]


@pytest.mark.skipif(not keep_freed_memory(), reason="needs glibc's mallopt")
def test_large_tensors_reuse_freed_memory():
    # three rounds of 5 steps, each step making a 64 MB tensor (16,384 pages): glibc's defaults fault every one in
    # afresh (about 80,000 faults every round); the training heap reuses freed memory, so a round faults in less than
    # one tensor's worth. Only one round must show it: on a loaded machine a round may still grow the heap once (a CI
    # run saw one round map three tensors while the steps' threads overlapped), but it cannot do so in every round.
    assert min(step_faults("training")) < 16_384
