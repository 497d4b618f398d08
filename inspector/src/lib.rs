//! ocitop.
