# The two commands of the README. Each installs what it needs first (scripts/setup).
.PHONY: demo test sdk-test lint bench sbom audit

demo:
	scripts/setup
	.venv/bin/parlour demo

test:
	scripts/setup --for-tests
	scripts/check
	$(MAKE) sdk-test

# The TypeScript SDK (sdk/js): its locked dev dependencies, then its tests against a real server
# (about half a minute). PARLOUR_SDK_TEST_PYTHON names another Python with Parlour (a worktree's).
sdk-test:
	cd sdk/js && npm ci --ignore-scripts --no-audit --no-fund && npm test

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
