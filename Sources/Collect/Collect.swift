// Collect module
