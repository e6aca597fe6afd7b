//! The reference store. (Being built: see issue "The reference store".)
