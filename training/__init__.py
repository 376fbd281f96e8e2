"""Training stages. Every entry point (`python -m training.<stage>`) imports this package first, so glibc's heap is
set for training here (training.memory), before numpy, pyarrow or TensorFlow start threads that would pin arenas."""

from training.memory import keep_freed_memory

keep_freed_memory()
