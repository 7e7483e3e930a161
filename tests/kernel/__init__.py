"""Tests of the kernel layer (autograde/kernel/): the sandbox, kernels, their users, pools, zygotes and isolation."""
