# The two commands of the README. Each installs what it needs first (scripts/setup).
.PHONY: demo test lint bench

demo:
	scripts/setup
	.venv/bin/parlour demo

test:
	scripts/setup --for-tests
	scripts/check

bench:
	scripts/setup
	.venv/bin/python -m bench
