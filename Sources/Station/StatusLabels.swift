/// Every label of the status page, in Chinese and English: the one table the page reads
/// (served at `/api/labels`), so a translation is a change here and nowhere else.
public enum StatusLabels {
    public struct Label: Sendable, Codable, Equatable {
        public var zh: String
        public var en: String
    }

    public static let table: [String: Label] = [
        "title": .init(zh: "执法记录仪采集站", en: "Body camera docking station"),
        "state.identifying": .init(zh: "识别中", en: "Identifying"),
        "state.collecting": .init(zh: "采集中", en: "Collecting"),
        "state.verifying": .init(zh: "校验中", en: "Verifying"),
        "state.done": .init(zh: "完成 — 可以拔出", en: "Done — safe to undock"),
        "state.freed": .init(zh: "已回执 — 存储已释放", en: "Receipted — card freed"),
        "state.error": .init(zh: "错误", en: "Error"),
        "bay.officer": .init(zh: "执法人员", en: "Officer"),
        "bay.model": .init(zh: "型号", en: "Model"),
        "bay.battery": .init(zh: "电量", en: "Battery"),
        "bay.files": .init(zh: "文件", en: "Files"),
        "bay.bytes": .init(zh: "数据量", en: "Data"),
        "bay.rate": .init(zh: "速度", en: "Rate"),
        "bay.eta": .init(zh: "剩余时间", en: "Time left"),
        "bay.next": .init(zh: "下一步", en: "Next step"),
        "bay.undocked": .init(zh: "已拔出", en: "Undocked"),
        "bays.none": .init(zh: "没有插入的执法记录仪", en: "No camera docked"),
        "sync.title": .init(zh: "上传队列", en: "Upload queue"),
        "sync.pending": .init(zh: "待上传", en: "Waiting"),
        "sync.uploading": .init(zh: "上传中", en: "Uploading"),
        "sync.receipted": .init(zh: "已回执", en: "Receipted"),
        "sync.rate": .init(zh: "网上留存率", en: "Retained online"),
        "sync.server": .init(zh: "服务器", en: "Server"),
        "sync.reachable": .init(zh: "已连接", en: "reachable"),
        "sync.unreachable": .init(zh: "无法连接", en: "unreachable"),
        "sync.unknown": .init(zh: "未知", en: "not yet asked"),
        "sync.notEnrolled": .init(zh: "未注册到服务器", en: "not enrolled"),
        "sync.lastReceipt": .init(zh: "最近回执", en: "Last receipt"),
        "sync.late": .init(zh: "超过一天未上传", en: "Waiting over a day"),
        "sync.outsideWindow": .init(zh: "不在上传时段", en: "outside the upload window"),
        "disk.title": .init(zh: "本机存储", en: "Station disk"),
        "disk.free": .init(zh: "可用", en: "free"),
        "warnings.title": .init(zh: "警告", en: "Warnings"),
        "bay.late": .init(zh: "超过24小时未采集", en: "Docked over a day late"),
        "silent.title": .init(zh: "长期未插入的执法记录仪", en: "Cameras not docked lately"),
        "silent.never": .init(zh: "从未插入", en: "never docked"),
        "silent.days": .init(zh: "天未插入", en: "days since docked"),
        "page.offline": .init(zh: "与采集站的连接中断，正在重试…", en: "Lost contact with the station, retrying…"),
    ]
}
