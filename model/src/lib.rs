//! stateright models of the store's protocols. (Being built.)
