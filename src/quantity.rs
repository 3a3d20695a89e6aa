//! Byte sizes as Kubernetes resource quantities write them, as daprd reads `--max-body-size` and a run
//! template's `maxBodySize` (`resource.ParseQuantity`): `4Mi`, `512Ki`, `1G`, `100`.

/// The number of bytes `s` says, from 1 byte to 4Gi.
pub fn bytes(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size; write bytes or a number with Ki, Mi or Gi, e.g. 4Mi"))?;
    let multiplier: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "KB" => 1000,
        "M" | "MB" => 1_000_000,
        "G" | "GB" => 1_000_000_000,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        other => {
            return Err(format!(
                "`{other}` in `{s}` is not a size unit; use Ki, Mi or Gi (or k, M, G), e.g. 4Mi"
            ));
        }
    };
    let bytes = n.checked_mul(multiplier).filter(|b| *b > 0 && *b <= 1 << 32);
    bytes
        .map(|b| b as usize)
        .ok_or_else(|| format!("`{s}` is out of range; give a size from 1 byte to 4Gi"))
}
