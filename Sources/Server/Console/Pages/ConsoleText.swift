/// The console's language: Chinese first, English as the alternative. Every label comes from
/// ``ConsoleText/labels``, one table, so a page never mixes the two.
enum ConsoleLanguage: String, CaseIterable, Sendable {
    case zh, en

    /// `?lang=` first, then the `fieldgate_lang` cookie, then Chinese.
    static func chosen(query: String?, cookie: String?) -> ConsoleLanguage {
        query.flatMap(Self.init(rawValue:)) ?? cookie.flatMap(Self.init(rawValue:)) ?? .zh
    }

    var htmlTag: String { self == .zh ? "zh-CN" : "en" }
    var other: ConsoleLanguage { self == .zh ? .en : .zh }
}

enum ConsoleText {
    /// Label id → (Chinese, English).
    static let labels: [String: (zh: String, en: String)] = [
        "title": ("执法音像证据管理平台", "Evidence console"),
        "signIn": ("登录", "Sign in"),
        "signOut": ("退出登录", "Sign out"),
        "name": ("用户名", "Name"),
        "password": ("密码", "Password"),
        "signInRefused": ("用户名或密码错误，或该账户已停用。", "Wrong name or password, or the account is disabled."),
        "signInThrottled": ("登录失败次数过多，请稍后再试。", "Too many failed sign-ins: try again later."),
        "formExpired": ("表单已过期或来源不符，请重新提交。", "The form expired or came from elsewhere: submit it again."),
        "signedInAs": ("当前用户", "Signed in as"),
        "role": ("角色", "Role"),
        "home": ("首页", "Home"),
        "people": ("用户管理", "People"),
        "forbidden": ("您的角色无权访问此页面。", "Your role may not open this page."),
        "notFound": ("页面不存在。", "No such page."),
        "created": ("创建时间", "Created"),
        "state": ("状态", "State"),
        "active": ("正常", "active"),
        "disabled": ("已停用", "disabled"),
        "language": ("English", "中文"),
        "role.admin": ("管理员", "administrator"),
        "role.reviewer": ("审核员", "reviewer"),
        "role.auditor": ("审计员", "auditor"),
        "role.viewer": ("查看员", "viewer"),
        "accessLog": ("访问日志", "Access log"),
        "accessLogHint": ("每次登录、查看和操作均记录在此，逐条哈希链接，不可改动。", "Every sign-in, view and action is recorded here, each entry hash-linked to the one before."),
        "downloadCSV": ("导出 CSV", "Download CSV"),
        "older": ("更早的记录", "Older entries"),
        "time": ("时间", "Time"),
        "actor": ("操作人", "Who"),
        "address": ("来源地址", "From"),
        "action": ("操作", "Action"),
        "subject": ("对象", "Subject"),
        "detail": ("详情", "Detail"),
        "hash": ("哈希", "Hash"),
        "action.sign-in": ("登录", "signed in"),
        "action.sign-in-refused": ("登录被拒", "sign-in refused"),
        "action.sign-in-throttled": ("登录受限", "sign-in throttled"),
        "action.sign-out": ("退出", "signed out"),
        "action.view-people": ("查看用户", "viewed people"),
        "action.view-access-log": ("查看访问日志", "viewed the access log"),
        "action.export-access-log": ("导出访问日志", "exported the access log"),
        "action.user-added": ("添加用户", "person added"),
        "action.user-disabled": ("停用用户", "person disabled"),
        "action.password-reset": ("重置密码", "password reset"),
        "search": ("查找证据", "Find evidence"),
        "searchButton": ("查找", "Search"),
        "officer": ("执法人员编号", "Officer"),
        "camera": ("记录仪", "Camera"),
        "gateway": ("采集站", "Gateway"),
        "case": ("案件编号", "Case"),
        "kind": ("类型", "Kind"),
        "anyKind": ("全部", "any"),
        "from": ("起始日期", "From"),
        "until": ("截止日期", "Until"),
        "flaggedOnly": ("仅有标记的", "Flagged only"),
        "importantOnly": ("仅重要的", "Important only"),
        "recordedAt": ("记录时间", "Recorded"),
        "size": ("大小", "Size"),
        "flags": ("标记", "Flags"),
        "important": ("重要", "important"),
        "noResults": ("没有符合条件的证据。", "No evidence matches."),
        "nextPage": ("下一页", "Next page"),
        "item": ("证据", "Item"),
        "metadata": ("元数据", "Metadata"),
        "custody": ("保管链", "Custody"),
        "receipt": ("回执", "Receipt"),
        "receiptHint": ("服务器签名的回执（JSON）", "The receipt the server signed (JSON)"),
        "download": ("下载", "Download"),
        "noPlayer": ("此类型在浏览器中无法直接播放，可下载。", "This kind cannot be played in the browser; download it."),
        "kind.recording": ("音视频记录", "recording"),
        "kind.printout": ("打印文书", "printout"),
        "kind.fingerprint": ("指纹", "fingerprint"),
        "timeline.gateway": ("采集站", "gateway"),
        "timeline.server": ("服务器", "server"),
        "timeline.receipted": ("已签发回执", "receipted"),
        "custody.collected": ("采集", "collected"),
        "custody.verified": ("校验", "verified"),
        "custody.flagged": ("标记", "flagged"),
        "custody.wiped": ("记录仪已清除", "camera wiped"),
        "custody.assigned": ("分配", "assigned"),
        "custody.registered": ("登记", "registered"),
        "custody.clock-drift": ("时钟偏差", "clock drift"),
        "custody.clock-corrected": ("时钟校正", "clock corrected"),
        "custody.uploaded": ("上传", "uploaded"),
        "custody.receipted": ("回执", "receipted"),
        "custody.printed": ("打印", "printed"),
        "custody.upload-refused": ("上传被拒", "upload refused"),
        "custody.fingerprint-captured": ("采集指纹", "fingerprint captured"),
        "custody.local-copy-removed": ("本地副本已删除", "local copy removed"),
        "custody.exported": ("导出", "exported"),
        "custody.case-bound": ("关联案件", "bound to a case"),
        "action.search": ("查找", "searched"),
        "action.view-item": ("查看证据", "viewed an item"),
        "action.play-item": ("播放/下载", "played or downloaded"),
        "action.view-receipt": ("查看回执", "viewed a receipt"),
        "peopleHint": ("用户由服务器命令 fieldgate-server users 添加、停用和重置密码。",
                       "People are added, disabled and given new passwords with the server's command fieldgate-server users."),
    ]

    /// Every label in `language`, for a template (`{{t.name}}`).
    static func table(_ language: ConsoleLanguage) -> [String: String] {
        labels.mapValues { language == .zh ? $0.zh : $0.en }
    }
}
