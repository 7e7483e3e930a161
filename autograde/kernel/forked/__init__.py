"""Kernels forked from one process per submission that imported TensorFlow once (``zygote``, its
sandboxed ``server``): same folders, user, limits and environment as a cold kernel."""
