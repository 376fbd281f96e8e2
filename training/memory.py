"""Keep glibc from handing freed batch buffers back to the kernel during training.

Every training step allocates and frees tensors of up to a few hundred MB (a catalogue softmax over every position).
With glibc's defaults they are mapped afresh from the kernel and zero-filled page by page each step: TensorFlow's
worker threads allocate from per-thread arenas that cannot hold them, the heap is trimmed as soon as they are freed,
and TensorFlow's generator dataset lowers the trim threshold to 128 KB when it starts (over any MALLOC_*_ environment
setting). System time was a third of training's CPU time, nearly all of it page faults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import cache

# mallopt(3) parameters (glibc's malloc.h)
M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -2, -3, -8
KEEP_BYTES = -1  # never trim the heap: freed memory stays for the next step (mallopt(3): -1 disables trimming)
MMAP_BYTES = 256 << 20  # allocations below this come from the heap (reused), not from their own mmap
PAD_BYTES = 256 << 20  # extra asked of the kernel each time the heap grows
ARENAS = 1  # one heap for every thread: a per-thread arena cannot grow past 64 MB, so larger tensors were mapped


@cache
def _mallopt():
    """glibc's mallopt, or None where the C library is not glibc (nothing to do there)."""
    try:
        function = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return function


def keep_freed_memory() -> bool:
    """Set the heap to keep freed memory (idempotent, microseconds); True if glibc took every setting. Call it before
    any other thread first allocates (glibc fixes the number of arenas then; each training entry point's main() does),
    then again after TensorFlow lowers the trim threshold."""
    mallopt = _mallopt()
    if mallopt is None:
        return False
    settings = (
        (M_ARENA_MAX, ARENAS),
        (M_TRIM_THRESHOLD, KEEP_BYTES),
        (M_MMAP_THRESHOLD, MMAP_BYTES),
        (M_TOP_PAD, PAD_BYTES),
    )
    return all(mallopt(param, value) == 1 for param, value in settings)


def keep_freed_memory_callback():
    """A Keras callback that re-applies keep_freed_memory at every batch: TensorFlow may lower the trim threshold
    again whenever a generator dataset (a training or validation epoch's) starts, which is after fit's begin hooks.
    (Keras is imported here, not with this module, so that keep_freed_memory can run before TensorFlow starts.)"""
    import keras

    class KeepFreedMemory(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            keep_freed_memory()

        on_test_batch_begin = on_predict_batch_begin = on_train_batch_begin  # validation and inference batches too

    return KeepFreedMemory()
