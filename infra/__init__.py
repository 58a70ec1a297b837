"""The Pulumi program of the GPU platform: composition of layers and the offline plan."""
