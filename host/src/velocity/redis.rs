//! The Redis velocity store, shared by many gate nodes (to be written).

/// Velocity state in Redis (placeholder until the backend lands).
pub struct RedisStore;
