// Tests here seed LibTorch's global generator (manual_seed) and then create models from it; test classes running in
// parallel would interleave their draws and make weights, and so exact comparisons, depend on scheduling.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
