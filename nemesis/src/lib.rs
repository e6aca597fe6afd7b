//! faultline's runner and faults. (Being built.)
