"""Training stages; importing the package sets glibc's heap for training before any thread starts.

Every entry point (`python -m training.<stage>`) imports this package first, so the heap is set here
(training.memory), before numpy, pyarrow or TensorFlow start threads that would pin arenas.
"""

from training.memory import keep_freed_memory

keep_freed_memory()
