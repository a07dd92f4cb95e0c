// Filled in by the BPF probe work.
