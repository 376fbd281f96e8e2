"""Developer tools around the product (benchmarks, the replay simulation, seed runs); never installed with it."""
