"""agents: every way to produce a beamformer behind one contract (in progress, see the issues)."""
