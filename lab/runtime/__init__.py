"""Docker side of the lab: engine set-up, images, networks, nodes, capture, cleanup.

Everything that talks to the Docker engine lives here; the pure core
(topology, kaconf, timers, model, history) never imports this package.
"""
