//! Client-side lobby state kept current by merge patches.
