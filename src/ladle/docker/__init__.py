"""Docker images as app sources: image references, registry reads and Cloud Foundry's encodings of image metadata."""
