//! `wirescope`: decode, encode and demo the workspace's protocols.
//!
//! - `wirescope demo [PROTOCOL]` runs a server and a client of the protocol on
//!   127.0.0.1 over real sockets and prints the annotated transcript;
//! - `wirescope decode PROTOCOL [FILE]` reads frames from FILE or stdin (one JSON
//!   text per line; Tachyon and ptpchat messages may also be pretty-printed, as the
//!   official examples are; Tipt frames in hex or base64) and prints each one's typed
//!   decoding, or its exact error;
//! - `wirescope encode PROTOCOL [FILE]` reads messages the same way and prints each
//!   one's canonical encoding, or its exact error;
//! - `wirescope proxy PROTOCOL --listen ADDR --upstream URL|ADDR` forwards live
//!   traffic unchanged and prints each frame decoded and checked (`--json`,
//!   `--record FILE`); `wirescope replay PROTOCOL FILE` checks a capture again;
//! - `wirescope serve PROTOCOL --listen ADDR` and `wirescope connect PROTOCOL
//!   TARGET` are a server and a client of the protocol driven by the user's lines.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod input;
mod litebridge;
mod live;
mod ptpchat;
mod regnode;
mod tachyon;
mod tipt;
mod transcript;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use live::commands::{ConnectArgs, FrameText, ProxyArgs, ReplayArgs, ServeArgs, decode_json};
use live::litebridge::Litebridge;
use live::ptpchat::{Ptpchat, PtpchatUdp};
use live::regnode::Regnode;
use live::tachyon::Tachyon;
use live::tipt::Tipt;
use proto_core::Limits;

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Decode, encode and demo the workspace's wire protocols"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a server and a client on 127.0.0.1 and print the annotated transcript.
    Demo {
        /// The protocol to demo; all of them when left out.
        protocol: Option<Protocol>,
        /// Print one JSON object per frame sent instead of the transcript.
        #[arg(long)]
        json: bool,
    },
    /// Decode frames (one per line; Tachyon, ptpchat: any JSON layout) and print each typed
    /// message or its exact error.
    Decode {
        /// The protocol the frames speak.
        protocol: Protocol,
        /// Read from this file instead of stdin.
        file: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
        /// Print one JSON object per frame (`line`, `protocol`, `kind`, `value` or
        /// `error`, `violations`) instead of the typed form; frames are decoded by
        /// the protocol's live observer, one at a time, as sent by a client.
        #[arg(long)]
        json: bool,
    },
    /// Encode messages (read as decode reads them) and print each canonical frame or
    /// its exact error.
    Encode {
        /// The protocol the messages belong to.
        protocol: Protocol,
        /// Read from this file instead of stdin.
        file: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Sit between clients and a server: forward every frame unchanged both ways and
    /// print each one decoded, with its direction and time, flagging every frame
    /// that breaks the protocol's rules (checked across the whole conversation).
    Proxy {
        /// The protocol the traffic speaks.
        protocol: Protocol,
        #[command(flatten)]
        args: ProxyArgs,
    },
    /// Check a capture written by `proxy --record` again, with its recorded times
    /// as the clock, and print what the proxy printed; exit status 1 if anything
    /// was flagged.
    Replay {
        /// The protocol of the capture.
        protocol: Protocol,
        #[command(flatten)]
        args: ReplayArgs,
    },
    /// Run a server of the protocol: print what clients send, decoded and checked,
    /// and send what you type (one message per line, in the JSON `encode` reads).
    Serve {
        /// The protocol to serve.
        protocol: Protocol,
        #[command(flatten)]
        args: ServeArgs,
    },
    /// Connect a client of the protocol to TARGET: print what the server sends,
    /// decoded and checked, and send what you type (one message per line, in the
    /// JSON `encode` reads); the end of input closes the connection.
    Connect {
        /// The protocol to speak.
        protocol: Protocol,
        #[command(flatten)]
        args: ConnectArgs,
    },
}

/// The protocols wirescope speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Protocol {
    /// Litecord's litebridge common protocol (JSON op codes over WebSocket).
    Litebridge,
    /// The Tachyon lobby protocol (JSON commands over WebSocket).
    Tachyon,
    /// The ptpchat peer protocol (JSON verbs over length-prefixed TCP or UDP);
    /// the live commands speak TCP.
    Ptpchat,
    /// ptpchat over UDP, one message per datagram: for the live commands (proxy,
    /// replay, serve, connect); elsewhere the same as ptpchat.
    PtpchatUdp,
    /// The Tipt client-node protocol (msgpack over wss): frames in hex or base64,
    /// shown and encoded as JSON.
    Tipt,
    /// The DCSC registration and peer protocol (signed binary datagrams over UDP);
    /// decode and encode read one hex datagram, or one rendering, per line.
    Regnode,
}

impl Protocol {
    fn all() -> &'static [Protocol] {
        use Protocol::{Litebridge, Ptpchat, Regnode, Tachyon, Tipt};
        // ptpchat's demo runs nodes over UDP too.
        &[Litebridge, Tachyon, Ptpchat, Tipt, Regnode]
    }
}

#[derive(Debug, clap::Args)]
struct LimitArgs {
    /// Largest frame accepted, in bytes.
    #[arg(long, default_value_t = Limits::default().max_frame_len)]
    max_frame_len: usize,
    /// Deepest nesting of arrays and objects accepted.
    #[arg(long, default_value_t = Limits::default().max_depth)]
    max_depth: usize,
}

impl LimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_frame_len: self.max_frame_len,
            max_depth: self.max_depth,
            ..Limits::default()
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { protocol, json } => {
            if json {
                transcript::print_json();
            }
            run_demos(protocol)
        }
        Command::Decode {
            protocol,
            file,
            json: true,
            ..
        } => live_result(match protocol {
            Protocol::Litebridge => decode_json::<Litebridge>(file.as_deref(), FrameText::Lines),
            Protocol::Tachyon => decode_json::<Tachyon>(file.as_deref(), FrameText::Values),
            Protocol::Ptpchat => decode_json::<Ptpchat>(file.as_deref(), FrameText::Values),
            Protocol::PtpchatUdp => decode_json::<PtpchatUdp>(file.as_deref(), FrameText::Values),
            Protocol::Tipt => decode_json::<Tipt>(file.as_deref(), FrameText::HexOrBase64Lines),
            Protocol::Regnode => {
                decode_json::<Regnode>(file.as_deref(), FrameText::HexOrBase64Lines)
            }
        }),
        Command::Decode {
            protocol,
            file,
            limits,
            json: false,
        } => match protocol {
            Protocol::Litebridge => input::for_each_line(file.as_deref(), |line| {
                litebridge::decode_line(line, &limits.limits())
            }),
            Protocol::Tachyon => input::for_each_value(file.as_deref(), |value| {
                tachyon::decode_value(value, &limits.limits())
            }),
            Protocol::Ptpchat | Protocol::PtpchatUdp => {
                input::for_each_value(file.as_deref(), |value| {
                    ptpchat::decode_value(value, &limits.limits())
                })
            }
            // Tipt's limits are the spec's own.
            Protocol::Tipt => input::for_each_line(file.as_deref(), tipt::decode_line),
            Protocol::Regnode => input::for_each_line(file.as_deref(), regnode::decode_line),
        },
        Command::Encode {
            protocol,
            file,
            limits,
        } => match protocol {
            Protocol::Litebridge => input::for_each_line(file.as_deref(), |line| {
                litebridge::encode_line(line, &limits.limits())
            }),
            Protocol::Tachyon => input::for_each_value(file.as_deref(), |value| {
                tachyon::encode_value(value, &limits.limits())
            }),
            Protocol::Ptpchat | Protocol::PtpchatUdp => {
                input::for_each_value(file.as_deref(), |value| {
                    ptpchat::encode_value(value, &limits.limits())
                })
            }
            Protocol::Tipt => input::for_each_value(file.as_deref(), tipt::encode_value),
            Protocol::Regnode => input::for_each_line(file.as_deref(), regnode::encode_line),
        },
        Command::Proxy { protocol, args } => live_result(match protocol {
            Protocol::Litebridge => live::commands::proxy::<Litebridge>(args),
            Protocol::Tachyon => live::commands::proxy::<Tachyon>(args),
            Protocol::Ptpchat => live::commands::proxy::<Ptpchat>(args),
            Protocol::PtpchatUdp => live::commands::proxy::<PtpchatUdp>(args),
            Protocol::Tipt => live::commands::proxy::<Tipt>(args),
            Protocol::Regnode => live::commands::proxy::<Regnode>(args),
        }),
        Command::Replay { protocol, args } => live_result(match protocol {
            Protocol::Litebridge => live::commands::replay::<Litebridge>(args),
            Protocol::Tachyon => live::commands::replay::<Tachyon>(args),
            Protocol::Ptpchat => live::commands::replay::<Ptpchat>(args),
            Protocol::PtpchatUdp => live::commands::replay::<PtpchatUdp>(args),
            Protocol::Tipt => live::commands::replay::<Tipt>(args),
            Protocol::Regnode => live::commands::replay::<Regnode>(args),
        }),
        Command::Serve { protocol, args } => live_result(match protocol {
            Protocol::Litebridge => live::commands::serve::<Litebridge>(args),
            Protocol::Tachyon => live::commands::serve::<Tachyon>(args),
            Protocol::Ptpchat => live::commands::serve::<Ptpchat>(args),
            Protocol::PtpchatUdp => live::commands::serve::<PtpchatUdp>(args),
            Protocol::Tipt => live::commands::serve::<Tipt>(args),
            Protocol::Regnode => live::commands::serve::<Regnode>(args),
        }),
        Command::Connect { protocol, args } => live_result(match protocol {
            Protocol::Litebridge => live::commands::connect::<Litebridge>(args),
            Protocol::Tachyon => live::commands::connect::<Tachyon>(args),
            Protocol::Ptpchat => live::commands::connect::<Ptpchat>(args),
            Protocol::PtpchatUdp => live::commands::connect::<PtpchatUdp>(args),
            Protocol::Tipt => live::commands::connect::<Tipt>(args),
            Protocol::Regnode => live::commands::connect::<Regnode>(args),
        }),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("wirescope: {error}");
            ExitCode::from(2)
        }
    }
}

/// Runs the demos; `Ok(false)` if one of them did not go as scripted.
fn run_demos(protocol: Option<Protocol>) -> Result<bool, Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let protocols = protocol.map_or_else(|| Protocol::all().to_vec(), |p| vec![p]);
    for protocol in protocols {
        match protocol {
            Protocol::Litebridge => runtime.block_on(litebridge::demo())?,
            Protocol::Tachyon => runtime.block_on(tachyon::demo())?,
            Protocol::Ptpchat | Protocol::PtpchatUdp => runtime.block_on(ptpchat::demo())?,
            Protocol::Tipt => runtime.block_on(tipt::demo())?,
            Protocol::Regnode => runtime.block_on(regnode::demo())?,
        }
    }
    Ok(true)
}

/// A live command's result as `main` reports it.
fn live_result(result: Result<bool, live::Failure>) -> Result<bool, Box<dyn std::error::Error>> {
    result.map_err(|error| error as Box<dyn std::error::Error>)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
