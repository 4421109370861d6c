//! Fuzzes what a node reads from the network and from its configuration: any bytes as
//! a Raft transport frame (a hello, a call, an answer) and any UTF-8 as a node's TOML
//! configuration. Decoding may fail; it may not panic or hang.

#![no_main]

use edgeflow_runtime::config::NodeConfig;
use edgeflow_runtime::network::wire::{self, Answer, Call, Envelope, Hello, HelloReply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wire::decode::<Hello>(data);
    let _ = wire::decode::<HelloReply>(data);
    let _ = wire::decode::<Envelope<Call>>(data);
    let _ = wire::decode::<Envelope<Answer>>(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = NodeConfig::parse(text, std::path::Path::new("fuzz.toml"));
    }
});
