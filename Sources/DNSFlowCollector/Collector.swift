// Hummingbird collector.
