"""One torch thread for the deep tests: the models are small, and on a shared 2-core
machine two OpenMP threads that wait on each other made a forward/backward pass of a
small CNN 25-40x slower than one thread (measured while other jobs ran)."""

import torch

torch.set_num_threads(1)
