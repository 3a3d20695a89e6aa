fn main() -> std::process::ExitCode {
    resilience_tui::cli::main()
}
