# The two commands of the README. Each installs what it needs first (scripts/setup).
.PHONY: demo test lint bench sbom audit

demo:
	scripts/setup
	.venv/bin/parlour demo

test:
	scripts/setup --for-tests
	scripts/check

bench:
	scripts/setup
	.venv/bin/python -m bench

# The supply chain (T-95): the bill of materials, and the audit against known vulnerabilities.
sbom:
	scripts/setup
	scripts/supply-chain sbom

audit:
	scripts/setup
	scripts/supply-chain audit
