//! `switchboard`: build and serve the Switchboard Spin application locally.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use spin_local_host::manifest::LoadedManifest;
use spin_local_host::variables::VariableSources;
use spin_local_host::{AppConfig, Logger, ReusePolicy};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use switchboard::emulators::{Backends, EmulatorAddrs};

#[derive(Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Local Spin-compatible host for the Switchboard connectors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every component (runs each `[component.<id>.build].command`, like `spin build`).
    Build {
        /// The application manifest.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
        /// Build only these components.
        #[arg(short = 'c', long = "component-id")]
        components: Vec<String>,
    },
    /// Serve every HTTP trigger of the application on one port, like `spin up`.
    Up(UpArgs),
    /// Start the built-in emulators alone, for several `switchboard up` hosts to share: they
    /// listen where `up --listen` would put them, and `--env-file` is written pointing every
    /// variable at them (start each host with `up --env-file PATH --listen …`).
    Emulators(EmulatorsArgs),
    /// Run a scripted end-to-end scenario against a running `switchboard up`
    /// (with its built-in emulators) and show what happened on each side;
    /// exits non-zero if any step fails.
    Demo(DemoArgs),
    /// Generate or verify IM UserSigs (the console's UserSig tool).
    #[command(subcommand)]
    Usersig(UsersigCommand),
    /// Say, for each built component, whether Spin 4.0.x, Spin main and
    /// SpinKube's shim would load it (decoded imports and exports against
    /// what each provides); exits non-zero if any would refuse one.
    Check {
        /// The application manifest.
        #[arg(short = 'f', long = "from", default_value = "spin.toml")]
        manifest: PathBuf,
    },
}

#[derive(Subcommand)]
enum UsersigCommand {
    /// Print a UserSig for a user.
    Gen {
        /// The user id.
        #[arg(long)]
        user: String,
        /// Lifetime in seconds (default 180 days).
        #[arg(long, default_value_t = 180 * 86_400)]
        expire: u64,
        #[command(flatten)]
        keys: switchboard::usersig_cmd::KeyArgs,
    },
    /// Decode a UserSig and check it; exits non-zero when invalid.
    Verify {
        /// The user id it must be for.
        #[arg(long)]
        user: String,
        #[command(flatten)]
        keys: switchboard::usersig_cmd::KeyArgs,
        /// The UserSig.
        usersig: String,
    },
}

#[derive(clap::Args)]
struct DemoArgs {
    /// The application `switchboard up` serves.
    #[arg(long, default_value = "http://127.0.0.1:3000")]
    url: String,
    /// The IM emulator (default: the port after --url's).
    #[arg(long)]
    im_url: Option<String>,
    /// The Zendesk emulator (default: two ports after --url's).
    #[arg(long)]
    zendesk_url: Option<String>,
    /// The Salesforce emulator (default: three ports after --url's).
    #[arg(long)]
    salesforce_url: Option<String>,
}

#[derive(clap::Args)]
struct EmulatorsArgs {
    /// The application manifest (which variables to fill).
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    manifest: PathBuf,
    /// The `up --listen` address whose emulator ports to use.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Where to write the variables, in the `--env-file` format.
    #[arg(long)]
    env_file: PathBuf,
    /// Where the emulators deliver IM and Zendesk webhooks (a host, or a load balancer in
    /// front of them); default `http://<listen>`.
    #[arg(long)]
    app_url: Option<String>,
}

#[derive(clap::Args)]
struct UpArgs {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: SocketAddr,
    /// Build the components first.
    #[arg(long)]
    build: bool,
    /// Set an application variable: `--variable name=value` (repeatable).
    #[arg(long = "variable", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// Read variables from a file of `name=value` / `SPIN_VARIABLE_NAME=value` lines.
    #[arg(long)]
    env_file: Option<PathBuf>,
    /// Requests one WASIp3 instance serves before it is dropped (1 disables reuse).
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u64).range(1..))]
    max_instance_reuse_count: u64,
    /// Requests one WASIp3 instance serves at the same time.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    max_instance_concurrent_reuse_count: u64,
    /// Seconds an idle instance is kept for reuse (fractions allowed).
    #[arg(long, default_value_t = 1.0)]
    idle_instance_timeout: f64,
    /// Directory for runtime state (key-value database); default `.spin` beside the manifest.
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Spin's runtime config file: `[key_value_store.<label>]` with `type = "spin"` (SQLite,
    /// `path` relative to the file) or `type = "redis"` (`url`), as `spin up` reads it.
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// Where the built-in IM emulator listens (default: the port after --listen's).
    #[arg(long)]
    im_emulator_listen: Option<SocketAddr>,
    /// Where the built-in Zendesk emulator listens (default: two ports after --listen's).
    #[arg(long)]
    zendesk_emulator_listen: Option<SocketAddr>,
    /// Where the built-in Salesforce emulator listens (default: three ports after --listen's).
    #[arg(long)]
    salesforce_emulator_listen: Option<SocketAddr>,
    /// Where the built-in LLM emulator listens (default: four ports after --listen's).
    #[arg(long)]
    llm_emulator_listen: Option<SocketAddr>,
    /// Never start the built-in emulators, even when no credentials are set.
    #[arg(long)]
    no_emulators: bool,
    /// Which Spin to behave as: `4.0` (the newest release), `main` (adds
    /// WASI 0.3.0 handlers and chaining from them) or `spinkube` (SpinKube's
    /// shim: WASI 0.2 only). Components that Spin would refuse are refused.
    #[arg(long, default_value = "4.0")]
    spin: spin_local_host::SpinTarget,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Build {
            manifest,
            components,
        } => {
            let loaded = LoadedManifest::load(&manifest)?;
            spin_local_host::build::build(&loaded, &components)
        }
        Command::Check { manifest } => {
            let loaded = LoadedManifest::load(&manifest)?;
            if !spin_local_host::spin_compat::report(&loaded, &mut std::io::stdout())? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Usersig(UsersigCommand::Gen { user, expire, keys }) => {
            switchboard::usersig_cmd::generate(&keys, &user, expire)
        }
        Command::Usersig(UsersigCommand::Verify {
            user,
            keys,
            usersig,
        }) => switchboard::usersig_cmd::verify(&keys, &user, &usersig),
        Command::Demo(args) => {
            let mut targets = switchboard::demo::Targets::from_app_url(&args.url)?;
            targets.im = args.im_url.unwrap_or(targets.im);
            targets.zendesk = args.zendesk_url.unwrap_or(targets.zendesk);
            targets.salesforce = args.salesforce_url.unwrap_or(targets.salesforce);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let passed =
                runtime.block_on(switchboard::demo::run(&targets, &mut std::io::stdout()))?;
            if !passed {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Emulators(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(emulators(args)),
        Command::Up(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(up(args))
        }
    }
}

async fn emulators(args: EmulatorsArgs) -> Result<()> {
    let mut config = AppConfig::new(&args.manifest);
    config.variables = VariableSources::from_process_env();
    let backends = Backends::start(&mut config, EmulatorAddrs::after(args.listen)).await?;
    if backends.im.is_none() && backends.zendesk.is_none() && backends.salesforce.is_none() {
        anyhow::bail!("no emulator started: the manifest declares none of their variables");
    }
    let app_url = args
        .app_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    backends.send_video_results_to(&mut config, &app_url)?;
    let text = switchboard::emulators::env_file_text(&config)?;
    std::fs::write(&args.env_file, text)
        .with_context(|| format!("cannot write {}", args.env_file.display()))?;
    backends.connect(app_url.trim_end_matches('/'), &config);
    for line in backends.describe() {
        println!("{line}");
    }
    println!("Webhooks go to {app_url}");
    println!(
        "Variables written to {}: start hosts with `switchboard up --env-file {} --listen …`",
        args.env_file.display(),
        args.env_file.display()
    );
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")?;
    eprintln!("Shutting down.");
    Ok(())
}

async fn up(args: UpArgs) -> Result<()> {
    if args.build {
        let loaded = LoadedManifest::load(&args.manifest)?;
        spin_local_host::build::build(&loaded, &[])?;
    }
    let mut variables = VariableSources::from_process_env();
    if let Some(path) = &args.env_file {
        variables.load_env_file(path)?;
    }
    for arg in &args.variables {
        variables.add_command_line(arg)?;
    }
    if !args.idle_instance_timeout.is_finite() || args.idle_instance_timeout < 0.0 {
        anyhow::bail!("--idle-instance-timeout must be a non-negative number of seconds");
    }
    let mut config = AppConfig {
        manifest: args.manifest.clone(),
        variables,
        reuse: ReusePolicy {
            max_instance_reuse_count: args.max_instance_reuse_count as usize,
            max_instance_concurrent_reuse_count: args.max_instance_concurrent_reuse_count as usize,
            idle_instance_timeout: Duration::from_secs_f64(args.idle_instance_timeout),
        },
        state_dir: args.state_dir.clone(),
        runtime_config: args.runtime_config_file.clone(),
        logger: Logger::stderr(),
        spin: args.spin,
    };
    let listener = spin_local_host::server::bind(args.listen).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let backends = if args.no_emulators {
        Backends::default()
    } else {
        // Emulators listen on loopback whatever --listen says (their
        // secrets are public); only the port follows it.
        let after = EmulatorAddrs::after(args.listen);
        let addrs = EmulatorAddrs {
            im: args.im_emulator_listen.unwrap_or(after.im),
            zendesk: args.zendesk_emulator_listen.unwrap_or(after.zendesk),
            salesforce: args.salesforce_emulator_listen.unwrap_or(after.salesforce),
            llm: args.llm_emulator_listen.unwrap_or(after.llm),
        };
        Backends::start(&mut config, addrs).await?
    };
    backends.check_listen(listener.local_addr()?)?;
    backends.send_video_results_to(&mut config, &format!("http://{}", listener.local_addr()?))?;
    let app = spin_local_host::App::load(&config)?;
    switchboard::preflight::check(&app)?;
    backends.connect(&url, &config);
    let server = spin_local_host::server::serve(app.clone(), listener)?;
    print_banner(&app, &server.url(), &backends);
    tokio::select! {
        _ = server.wait() => {}
        signal = tokio::signal::ctrl_c() => {
            signal.context("cannot listen for Ctrl-C")?;
            eprintln!("Shutting down.");
        }
    }
    Ok(())
}

fn print_banner(app: &spin_local_host::App, url: &str, backends: &Backends) {
    println!("Serving {url}");
    for line in backends.describe() {
        println!("{line}");
    }
    println!("Available routes:");
    for (route, component) in app.routes() {
        println!("  {component}: {url}{route}");
    }
    println!();
    println!("Try:");
    let mut shown = std::collections::HashSet::new();
    for (route, component) in app.routes() {
        let examples = app.examples(&component);
        if examples.is_empty() {
            let path = route.trim_end_matches("/...");
            let path = if path.is_empty() { "/" } else { path };
            println!("  curl -i {url}{path}");
        } else if shown.insert(component.clone()) {
            for example in examples {
                println!("  {}", example.replace("{url}", url));
            }
        }
    }
    let vars = &app.variables().application;
    if !vars.is_empty() {
        println!();
        println!("Variables:");
        for (name, resolved) in vars {
            let shown = if resolved.secret {
                "<secret>".to_string()
            } else {
                format!("{:?}", resolved.value)
            };
            println!("  {name} = {shown} ({})", resolved.origin);
        }
    }
}
