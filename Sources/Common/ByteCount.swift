/// Sizes and rates as people write them in options and config files: `10M`, `512k`, `200G`
/// or a plain number of bytes (binary multiples: k = 1024).
public enum ByteCount {
    public static func parse(_ text: String) -> Int64? {
        let units: [Character: Int64] = ["k": 1 << 10, "K": 1 << 10, "m": 1 << 20, "M": 1 << 20, "g": 1 << 30, "G": 1 << 30,
                                         "t": 1 << 40, "T": 1 << 40]
        var digits = Substring(text)
        var multiplier: Int64 = 1
        if let last = digits.last, let unit = units[last] {
            multiplier = unit
            digits = digits.dropLast()
        }
        guard let value = Double(digits), value > 0, value * Double(multiplier) < Double(Int64.max) else { return nil }
        return Int64(value * Double(multiplier))
    }
}
