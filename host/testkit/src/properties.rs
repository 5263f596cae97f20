//! Ready-made properties (to be written).
