//! Published test vectors: Bitcoin Core key_io (mainnet addresses) and the
//! XRP address codec.

use super::*;
