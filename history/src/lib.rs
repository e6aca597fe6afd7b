//! Recorded operation histories and the linearizability checker. (Being built.)
