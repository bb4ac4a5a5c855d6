//! Plant structure queries and mutations (filled by the plant test work).
