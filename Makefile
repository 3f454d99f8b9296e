# Shortcuts for the scripts the README names (make is optional).
.PHONY: setup demo test
setup:
	bash scripts/setup.sh
demo:
	bash scripts/demo.sh
test:
	bash scripts/test.sh
