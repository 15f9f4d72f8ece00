"""benchmarks: seeded suites and the leaderboard (in progress, see the issues)."""
