"""The gpu-platform policy pack. Policies live one per module; ``__main__`` only builds the pack."""
