"""The typed stack configuration (model, cross-field rules, loader) and the example stacks."""
