import Foundation
import Mustache

/// The console's server-rendered pages: mustache templates (values escaped unless a template
/// says otherwise, which none does), one layout around each page, and the stylesheet.
struct ConsolePages: Sendable {
    let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (name, text) in Self.templates {
            // The templates are part of the program: one that does not parse is a build defect.
            // swiftlint:disable:next force_try
            library.register(try! MustacheTemplate(string: text), named: name)
        }
        self.library = library
    }

    /// Renders `page` inside the layout, in `language`, with `values` for the page.
    func render(_ page: String, title: String, language: ConsoleLanguage, user: ConsoleUserRecord?, csrf: String?,
                values: [String: Any] = [:]) -> String {
        let labels = ConsoleText.table(language)
        var context: [String: Any] = values
        context["t"] = labels
        context["lang"] = language.htmlTag
        context["otherLang"] = language.other.rawValue
        context["title"] = title
        if let user {
            context["user"] = ["name": user.name, "role": labels["role." + user.role.rawValue] ?? user.role.rawValue,
                               "mayManagePeople": user.role.may(.managePeople),
                               "mayReadAccessLog": user.role.may(.readAccessLog),
                               "mayCategorise": user.role.may(.categorise),
                               "mayShare": user.role.may(.share),
                               "mayViewRetention": user.role.may(.viewRetention),
                               "mayReadReports": user.role.may(.readReports)] as [String: Any]
        }
        if let csrf { context["csrf"] = csrf }
        context["body"] = library.render(context, withTemplate: page) ?? ""
        return library.render(context, withTemplate: "layout") ?? ""
    }

    /// Renders `page` alone on a sheet for the printer: no navigation, print styles only.
    func renderPrintable(_ page: String, title: String, language: ConsoleLanguage, values: [String: Any]) -> String {
        var context: [String: Any] = values
        context["t"] = ConsoleText.table(language)
        context["lang"] = language.htmlTag
        context["title"] = title
        context["body"] = library.render(context, withTemplate: page) ?? ""
        return library.render(context, withTemplate: "print-layout") ?? ""
    }

    static let templates: [String: String] = [
        "layout": """
            <!DOCTYPE html>
            <html lang="{{lang}}">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · {{t.title}}</title>
            <link rel="stylesheet" href="/console/static/console.css">
            </head>
            <body>
            <header>
            <a class="brand" href="/console">{{t.title}}</a>
            <nav>
            {{#user}}
            <a href="/console">{{t.home}}</a>
            <a href="/console/items">{{t.search}}</a>
            {{#mayCategorise}}<a href="/console/work">{{t.workList}}</a>{{/mayCategorise}}
            {{#mayShare}}<a href="/console/shares">{{t.shares}}</a>{{/mayShare}}
            {{#mayViewRetention}}<a href="/console/retention">{{t.retention}}</a>{{/mayViewRetention}}
            {{#mayReadReports}}<a href="/console/reports">{{t.reports}}</a>
            <a href="/console/reconciliation">{{t.reconciliation}}</a>{{/mayReadReports}}
            {{#mayManagePeople}}<a href="/console/people">{{t.people}}</a>{{/mayManagePeople}}
            {{#mayReadAccessLog}}<a href="/console/access-log">{{t.accessLog}}</a>{{/mayReadAccessLog}}
            <span class="who">{{t.signedInAs}} <strong>{{name}}</strong> ({{role}})</span>
            <form method="post" action="/console/sign-out" class="inline">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button type="submit">{{t.signOut}}</button>
            </form>
            {{/user}}
            <a href="?lang={{otherLang}}" hreflang="{{otherLang}}">{{t.language}}</a>
            </nav>
            </header>
            <main>
            {{{body}}}
            </main>
            </body>
            </html>
            """,
        "sign-in": """
            <h1>{{t.signIn}}</h1>
            {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
            <form method="post" action="/console/sign-in" class="sign-in">
            <input type="hidden" name="csrf" value="{{loginCsrf}}">
            <label for="name">{{t.name}}</label>
            <input id="name" name="name" autocomplete="username" required autofocus value="{{name}}">
            <label for="password">{{t.password}}</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required>
            <button type="submit">{{t.signIn}}</button>
            </form>
            """,
        "home": """
            <h1>{{t.home}}</h1>
            <p>{{t.signedInAs}} <strong>{{user.name}}</strong> · {{t.role}}: {{user.role}}</p>
            """,
        "people": """
            <h1>{{t.people}}</h1>
            <p>{{t.peopleHint}}</p>
            <table>
            <thead><tr><th scope="col">{{t.name}}</th><th scope="col">{{t.role}}</th><th scope="col">{{t.state}}</th><th scope="col">{{t.created}}</th></tr></thead>
            <tbody>
            {{#people}}<tr><td>{{name}}</td><td>{{role}}</td><td>{{state}}</td><td>{{created}}</td></tr>
            {{/people}}
            </tbody>
            </table>
            """,
        "items": """
            <h1>{{t.search}}</h1>
            <form method="get" action="/console/items" class="search">
            <label>{{t.officer}} <input name="officer" value="{{form.officer}}" maxlength="128"></label>
            <label>{{t.camera}} <input name="camera" value="{{form.camera}}" maxlength="128"></label>
            <label>{{t.gateway}} <input name="gateway" value="{{form.gateway}}" maxlength="128"></label>
            <label>{{t.case}} <input name="case" value="{{form.case}}" maxlength="128"></label>
            <label>{{t.unit}} <input name="unit" value="{{form.unit}}" maxlength="128"></label>
            <label>{{t.from}} <input name="from" type="date" value="{{form.from}}"></label>
            <label>{{t.until}} <input name="until" type="date" value="{{form.until}}"></label>
            <label>{{t.kind}} <select name="kind"><option value="">{{t.anyKind}}</option>
            {{#kinds}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/kinds}}
            </select></label>
            <label>{{t.category}} <select name="category"><option value="">{{t.anyCategory}}</option>
            <option value="none"{{#uncategorisedSelected}} selected{{/uncategorisedSelected}}>{{t.uncategorised}}</option>
            {{#categories}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}
            </select></label>
            <label><input type="checkbox" name="flagged" value="1"> {{t.flaggedOnly}}</label>
            <label><input type="checkbox" name="important" value="1"> {{t.importantOnly}}</label>
            <button type="submit">{{t.searchButton}}</button>
            </form>
            {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
            {{#searched}}
            {{#none}}<p>{{t.noResults}}</p>{{/none}}
            {{#user.mayShare}}<form method="post" action="/console/shares" class="share">
            <input type="hidden" name="csrf" value="{{csrf}}">{{/user.mayShare}}
            <table class="results">
            <thead><tr>{{#user.mayShare}}<th scope="col">{{t.select}}</th>{{/user.mayShare}}<th scope="col">{{t.recordedAt}}</th><th scope="col">{{t.kind}}</th><th scope="col">{{t.officer}}</th><th scope="col">{{t.camera}}</th><th scope="col">{{t.case}}</th><th scope="col">{{t.gateway}}</th><th scope="col">{{t.size}}</th><th scope="col">{{t.category}}</th><th scope="col">{{t.flags}}</th><th scope="col">SHA-256</th></tr></thead>
            <tbody>
            {{#results}}<tr>{{#user.mayShare}}<td>{{^withheld}}<input type="checkbox" name="item" value="{{itemValue}}" aria-label="{{short}}">{{/withheld}}{{#withheld}}{{t.withheldShort}}{{/withheld}}</td>{{/user.mayShare}}<td><a href="{{url}}">{{recordedAt}}</a></td><td>{{kind}}</td><td>{{officer}}</td><td>{{camera}}</td><td>{{case}}</td><td>{{gateway}}</td><td>{{size}}</td><td>{{category}}</td><td>{{flags}}{{#important}} ★{{/important}}</td><td><code>{{short}}</code></td></tr>
            {{/results}}
            </tbody>
            </table>
            {{#user.mayShare}}
            <fieldset class="share-fields"><legend>{{t.shareSelected}}</legend>
            <label>{{t.recipient}} <input name="recipient" maxlength="128" required></label>
            <label>{{t.purpose}} <input name="purpose" maxlength="256"></label>
            <label>{{t.days}} <input name="days" type="number" min="1" max="90" value="14" required></label>
            <label><input type="checkbox" name="download" value="1"> {{t.allowDownload}}</label>
            <button type="submit">{{t.makeShare}}</button>
            </fieldset>
            </form>
            {{/user.mayShare}}
            {{#nextPage}}<p><a href="{{nextPage}}">{{t.nextPage}}</a></p>{{/nextPage}}
            {{/searched}}
            """,
        "item": """
            <h1>{{t.item}} <code>{{short}}</code></h1>
            <p>{{kind}} · {{t.category}}: <strong>{{category}}</strong> · {{t.recordedAt}} {{recordedAt}} · {{t.officer}} {{officer}} · {{t.camera}} {{camera}} · {{t.case}} {{case}} · {{t.gateway}} {{gateway}} · {{size}}</p>
            <p class="retention">{{t.retention}}: {{retention}}</p>
            {{#restoreURL}}<form method="post" action="{{restoreURL}}" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.restore}}</button></form>{{/restoreURL}}
            {{#video}}<video controls preload="metadata" src="{{contentURL}}" id="player"></video>{{/video}}
            {{#audio}}<audio controls preload="metadata" src="{{contentURL}}" id="player"></audio>{{/audio}}
            {{#photo}}<img src="{{contentURL}}" alt="{{sha256}}" class="photo">{{/photo}}
            {{#download}}<p>{{t.noPlayer}}</p>{{/download}}
            {{#printout}}<h2>{{t.printoutText}}</h2>
            <pre class="printout">{{text}}</pre>
            <p>{{t.verificationId}}: <code>{{verificationId}}</code> · {{#qrMatches}}{{t.qrMatches}}{{/qrMatches}}{{^qrMatches}}<strong class="error">{{t.qrMismatch}}</strong>{{/qrMatches}}</p>{{/printout}}
            {{#printoutError}}<p class="error" role="alert">{{t.printoutUnreadable}} {{printoutError}}</p>{{/printoutError}}
            {{#fingerprint}}<img src="{{imageURL}}" alt="{{t.fingerprintImage}}" class="fingerprint">{{/fingerprint}}
            <p><a href="{{contentURL}}" download>{{t.download}}</a> · <a href="{{receiptURL}}">{{t.receipt}}</a> ({{t.receiptHint}})</p>
            {{#review}}
            <form method="post" action="{{action}}" class="review">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>{{t.category}} <select name="category"><option value="">{{t.uncategorised}}</option>
            {{#categories}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}
            </select></label>
            <label>{{t.case}} <input name="case" value="{{case}}" maxlength="64"></label>
            <label><input type="checkbox" name="withheld" value="1"{{#withheld}} checked{{/withheld}}> {{t.doNotDisclose}}</label>
            <label><input type="checkbox" name="held" value="1"{{#held}} checked{{/held}}> {{t.legalHold}}</label>
            <button type="submit">{{t.save}}</button>
            </form>
            {{/review}}
            <h2>{{t.custody}}</h2>
            <table class="timeline">
            <thead><tr><th scope="col">{{t.time}}</th><th scope="col">{{t.actor}}</th><th scope="col">{{t.action}}</th><th scope="col">{{t.detail}}</th><th scope="col">{{t.hash}}</th></tr></thead>
            <tbody>
            {{#timeline}}<tr><td>{{at}}</td><td>{{who}}</td><td>{{what}}</td><td>{{detail}}</td><td><code>{{hash}}</code></td></tr>
            {{/timeline}}
            </tbody>
            </table>
            <h2>{{t.metadata}}</h2>
            <table class="metadata">
            <tbody>
            <tr><th scope="row">SHA-256</th><td><code>{{sha256}}</code></td></tr>
            {{#metadata}}<tr><th scope="row">{{key}}</th><td>{{value}}</td></tr>
            {{/metadata}}
            </tbody>
            </table>
            """,
        "work": """
            <h1>{{t.workList}}</h1>
            <p>{{t.workListHint}}</p>
            {{#none}}<p>{{t.workListEmpty}}</p>{{/none}}
            <table class="results">
            <thead><tr><th scope="col">{{t.recordedAt}}</th><th scope="col">{{t.kind}}</th><th scope="col">{{t.officer}}</th><th scope="col">{{t.camera}}</th><th scope="col">{{t.case}}</th><th scope="col">{{t.gateway}}</th><th scope="col">SHA-256</th></tr></thead>
            <tbody>
            {{#results}}<tr><td><a href="{{url}}">{{recordedAt}}</a></td><td>{{kind}}</td><td>{{officer}}</td><td>{{camera}}</td><td>{{case}}</td><td>{{gateway}}</td><td><code>{{short}}</code></td></tr>
            {{/results}}
            </tbody>
            </table>
            {{#nextPage}}<p><a href="{{nextPage}}">{{t.nextPage}}</a></p>{{/nextPage}}
            """,
        "share-created": """
            <h1>{{t.shareCreated}}</h1>
            <p>{{t.shareLinkOnce}}</p>
            <p><input class="link" readonly value="{{link}}" aria-label="{{t.shareLink}}" id="share-link"> <a href="{{link}}">{{t.open}}</a></p>
            <p>{{t.recipient}}: {{recipient}} · {{items}} · {{t.expires}} {{expires}}</p>
            <p><a href="/console/shares">{{t.shares}}</a></p>
            """,
        "shares": """
            <h1>{{t.shares}}</h1>
            <table>
            <thead><tr><th scope="col">{{t.recipient}}</th><th scope="col">{{t.purpose}}</th><th scope="col">{{t.actor}}</th><th scope="col">{{t.created}}</th><th scope="col">{{t.expires}}</th><th scope="col">{{t.items}}</th><th scope="col">{{t.download}}</th><th scope="col">{{t.state}}</th><th scope="col"></th></tr></thead>
            <tbody>
            {{#shares}}<tr><td>{{recipient}}</td><td>{{purpose}}</td><td>{{by}}</td><td>{{created}}</td><td>{{expires}}</td><td>{{items}}</td><td>{{download}}</td><td>{{state}}</td><td>{{#active}}<form method="post" action="{{revokeURL}}" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.revoke}}</button></form>{{/active}}</td></tr>
            {{/shares}}
            </tbody>
            </table>
            """,
        "shared": """
            <h1>{{t.sharedEvidence}}</h1>
            <p>{{t.sharedFor}} {{recipient}}{{#purpose}} · {{purpose}}{{/purpose}} · {{t.expires}} {{expires}}</p>
            {{#items}}
            <section class="shared-item">
            <h2>{{kind}} · {{recordedAt}}</h2>
            <p><code>{{sha256}}</code> · {{size}}</p>
            {{#video}}<video controls preload="metadata" src="{{contentURL}}"{{^download}} controlslist="nodownload"{{/download}}></video>{{/video}}
            {{#audio}}<audio controls preload="metadata" src="{{contentURL}}"{{^download}} controlslist="nodownload"{{/download}}></audio>{{/audio}}
            {{#photo}}<img src="{{contentURL}}" alt="{{sha256}}" class="photo">{{/photo}}
            {{#download}}<p><a href="{{contentURL}}" download>{{t.download}}</a></p>{{/download}}
            </section>
            {{/items}}
            """,
        "retention": """
            <h1>{{t.retention}}</h1>
            <p>{{t.retentionHint}}</p>
            <h2>{{t.dueSoon}}</h2>
            {{^due}}<p>{{t.nothingDue}}</p>{{/due}}
            <table class="results">
            <thead><tr><th scope="col">{{t.expires}}</th><th scope="col">{{t.category}}</th><th scope="col">{{t.officer}}</th><th scope="col">{{t.camera}}</th><th scope="col">{{t.gateway}}</th><th scope="col">SHA-256</th></tr></thead>
            <tbody>
            {{#due}}<tr><td><a href="{{url}}">{{expires}}</a></td><td>{{category}}</td><td>{{officer}}</td><td>{{camera}}</td><td>{{gateway}}</td><td><code>{{short}}</code></td></tr>
            {{/due}}
            </tbody>
            </table>
            <h2>{{t.recycleBin}}</h2>
            {{^recycled}}<p>{{t.nothingRecycled}}</p>{{/recycled}}
            <table class="results">
            <thead><tr><th scope="col">{{t.deletedAfter}}</th><th scope="col">{{t.category}}</th><th scope="col">{{t.officer}}</th><th scope="col">{{t.gateway}}</th><th scope="col">SHA-256</th><th scope="col"></th></tr></thead>
            <tbody>
            {{#recycled}}<tr><td><a href="{{url}}">{{purgeAfter}}</a></td><td>{{category}}</td><td>{{officer}}</td><td>{{gateway}}</td><td><code>{{short}}</code></td><td>{{#restoreURL}}<form method="post" action="{{restoreURL}}" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t.restore}}</button></form>{{/restoreURL}}</td></tr>
            {{/recycled}}
            </tbody>
            </table>
            """,
        "access-log": """
            <h1>{{t.accessLog}}</h1>
            <p>{{t.accessLogHint}} <a href="/console/access-log.csv">{{t.downloadCSV}}</a></p>
            <table>
            <thead><tr><th scope="col">#</th><th scope="col">{{t.time}}</th><th scope="col">{{t.actor}}</th><th scope="col">{{t.address}}</th><th scope="col">{{t.action}}</th><th scope="col">{{t.subject}}</th><th scope="col">{{t.detail}}</th><th scope="col">{{t.hash}}</th></tr></thead>
            <tbody>
            {{#events}}<tr><td>{{seq}}</td><td>{{at}}</td><td>{{actor}}</td><td>{{address}}</td><td>{{action}}</td><td>{{subject}}</td><td>{{detail}}</td><td><code>{{hash}}</code></td></tr>
            {{/events}}
            </tbody>
            </table>
            {{#older}}<p><a href="/console/access-log?before={{older}}">{{t.older}}</a></p>{{/older}}
            """,
        "print-layout": """
            <!DOCTYPE html>
            <html lang="{{lang}}">
            <head>
            <meta charset="utf-8">
            <title>{{title}} · {{t.title}}</title>
            <link rel="stylesheet" href="/console/static/console.css">
            </head>
            <body class="printable">
            {{{body}}}
            </body>
            </html>
            """,
        "report": """
            <h1>{{t.reportTitle}} · {{month}}</h1>
            <form method="get" action="/console/reports" class="search">
            <label>{{t.month}} <input name="month" type="month" value="{{month}}" list="report-months"></label>
            <datalist id="report-months">{{#months}}<option value="{{month}}">{{/months}}</datalist>
            <label>{{t.unit}} <input name="unit" value="{{unit}}" maxlength="128"></label>
            <button type="submit">{{t.show}}</button>
            </form>
            <p><a href="/console/reports/print?{{query}}">{{t.reportPrintable}}</a> · <a href="/console/reports/monthly.csv?{{query}}">{{t.downloadCSV}}</a> · <a href="/console/reports/ledger.csv?{{query}}">{{t.reportLedger}}</a> · <a href="/console/reconciliation?month={{month}}">{{t.reconciliation}}</a></p>
            <p>{{t.reportHint}}</p>
            {{> report-table}}
            """,
        "report-print": """
            <h1>{{t.reportTitle}}</h1>
            <p>{{t.month}} {{month}}{{#unit}} · {{t.unit}} {{unit}}{{/unit}} · {{t.reportGenerated}} {{generated}} · {{printedBy}}</p>
            {{> report-table}}
            <p class="signature">{{t.reportSignature}}</p>
            """,
        "report-table": """
            {{#none}}<p>{{t.reportEmpty}}</p>{{/none}}
            <table class="report">
            <thead><tr><th scope="col">{{t.unit}}</th><th scope="col">{{t.reportRecordings}}</th><th scope="col">{{t.reportHours}}</th><th scope="col">{{t.reportPrintouts}}</th>{{#documentTypes}}<th scope="col">{{t.reportPrintoutsOfType}}{{name}}</th>{{/documentTypes}}<th scope="col">{{t.reportFingerprints}}</th><th scope="col">{{t.reportFlagged}}</th><th scope="col">{{t.reportLate}}</th><th scope="col">{{t.reportReceived}}</th><th scope="col">{{t.reportWaiting}}</th><th scope="col">{{t.reportRetained}}</th><th scope="col" class="no-print">{{t.reportLedger}}</th></tr></thead>
            <tbody>
            {{#lines}}<tr{{#slipping}} class="slipping"{{/slipping}}><th scope="row">{{unit}}</th><td>{{recordings}}</td><td>{{hours}}</td><td>{{printouts}}</td>{{#byType}}<td>{{count}}</td>{{/byType}}<td>{{fingerprints}}</td><td>{{flagged}}</td><td>{{late}}</td><td>{{received}}</td><td>{{waiting}}</td><td>{{retained}}</td><td class="no-print"><a href="{{ledgerURL}}">CSV</a></td></tr>
            {{/lines}}
            </tbody>
            {{#total}}<tfoot><tr><th scope="row">{{unit}}</th><td>{{recordings}}</td><td>{{hours}}</td><td>{{printouts}}</td>{{#byType}}<td>{{count}}</td>{{/byType}}<td>{{fingerprints}}</td><td>{{flagged}}</td><td>{{late}}</td><td>{{received}}</td><td>{{waiting}}</td><td>{{retained}}</td><td class="no-print"><a href="{{ledgerURL}}">CSV</a></td></tr></tfoot>{{/total}}
            </table>
            """,
        "reconciliation": """
            <h1>{{t.reconciliation}} · {{month}}</h1>
            <form method="get" action="/console/reconciliation" class="search">
            <label>{{t.month}} <input name="month" type="month" value="{{month}}"></label>
            <label>{{t.reconSilentDays}} <input name="days" type="number" min="1" max="3650" value="{{days}}"></label>
            <button type="submit">{{t.show}}</button>
            </form>
            <h2>{{t.reconGateways}}</h2>
            <p>{{t.reconGatewaysHint}}</p>
            <table class="results">
            <thead><tr><th scope="col">{{t.gateway}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.reconLastSeen}}</th><th scope="col">{{t.reconLastCommitted}}</th><th scope="col">{{t.reportWaiting}}</th><th scope="col">{{t.reconOldestWaiting}}</th><th scope="col">{{t.reconReportedAt}}</th><th scope="col">{{t.reconOpenBatches}}</th></tr></thead>
            <tbody>
            {{#gateways}}<tr{{#silent}} class="slipping"{{/silent}}><th scope="row">{{name}}{{#silent}} · {{t.reconSilent}}{{/silent}}</th><td>{{unit}}</td><td>{{lastSeen}}</td><td>{{lastCommitted}}</td><td>{{waiting}} {{waitingBytes}}</td><td>{{oldestWaiting}}</td><td>{{reportedAt}}</td><td>{{openBatches}} ({{openItems}})</td></tr>
            {{/gateways}}
            </tbody>
            </table>
            <h2>{{t.reconCameras}}</h2>
            {{#noCameras}}<p>{{t.reconNoSilentCameras}}</p>{{/noCameras}}
            <table class="results">
            <thead><tr><th scope="col">{{t.camera}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.gateway}}</th><th scope="col">{{t.reconLastRecorded}}</th><th scope="col">{{t.reconLastCommitted}}</th></tr></thead>
            <tbody>
            {{#cameras}}<tr class="slipping"><th scope="row">{{serial}}</th><td>{{unit}}</td><td>{{gateway}}</td><td>{{lastRecorded}}</td><td>{{lastReceipted}}</td></tr>
            {{/cameras}}
            </tbody>
            </table>
            <h2>{{t.reconLate}} ({{lateTotal}})</h2>
            <p>{{t.reconLateHint}}</p>
            {{#noLate}}<p>{{t.reconNoLate}}</p>{{/noLate}}
            <table class="results">
            <thead><tr><th scope="col">{{t.recordedAt}}</th><th scope="col">{{t.reconReceivedAt}}</th><th scope="col">{{t.reconDelay}}</th><th scope="col">{{t.unit}}</th><th scope="col">{{t.kind}}</th><th scope="col">{{t.officer}}</th><th scope="col">{{t.camera}}</th><th scope="col">{{t.gateway}}</th></tr></thead>
            <tbody>
            {{#late}}<tr><td><a href="{{url}}">{{recordedAt}}</a></td><td>{{receivedAt}}</td><td>{{delay}}</td><td>{{unit}}</td><td>{{kind}}</td><td>{{officer}}</td><td>{{camera}}</td><td>{{gateway}}</td></tr>
            {{/late}}
            </tbody>
            </table>
            {{#lateMore}}<p>{{t.reconLateMore}}</p>{{/lateMore}}
            """,
        "message": """
            <h1>{{title}}</h1>
            <p role="alert">{{message}}</p>
            """,
    ]

    /// Plain CSS, no build step; readable at 1366×768 and keyboard focus always visible.
    static let stylesheet = """
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", system-ui, sans-serif; color: #1a1a1a; background: #f6f7f9; }
        header { display: flex; flex-wrap: wrap; align-items: center; gap: 1rem; padding: .6rem 1.2rem; background: #12355b; color: #fff; }
        header a, header button { color: #fff; }
        .brand { font-weight: 700; text-decoration: none; margin-right: auto; }
        nav { display: flex; flex-wrap: wrap; align-items: center; gap: .9rem; }
        form.inline { display: inline; margin: 0; }
        button { font: inherit; padding: .3rem .8rem; border: 1px solid #12355b; border-radius: 3px; background: #1d5592; color: #fff; cursor: pointer; }
        header button { background: transparent; border-color: #fff; }
        main { max-width: 1200px; margin: 1.2rem auto; padding: 0 1.2rem; }
        .sign-in { display: grid; gap: .5rem; max-width: 22rem; }
        input { font: inherit; padding: .35rem .5rem; border: 1px solid #8a96a3; border-radius: 3px; }
        :focus-visible { outline: 3px solid #f0a500; outline-offset: 1px; }
        .error { color: #a40000; font-weight: 600; }
        table { border-collapse: collapse; width: 100%; background: #fff; }
        th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #dde1e6; }
        form.search { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin-bottom: 1rem; }
        form.search label { display: flex; flex-direction: column; font-size: .9rem; }
        video, img.photo { max-width: 100%; max-height: 60vh; background: #000; }
        td code { font-size: .85rem; }
        form.review { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin: 1rem 0; }
        form.review label { display: flex; flex-direction: column; font-size: .9rem; }
        fieldset.share-fields { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; margin-top: 1rem; }
        input.link { width: 40rem; max-width: 100%; font-family: monospace; }
        section.shared-item { background: #fff; padding: .6rem 1rem; margin-bottom: 1rem; }
        th, table.timeline td:nth-child(-n+3), table.results td:nth-child(-n+2) { white-space: nowrap; }
        pre.printout { display: inline-block; background: #fff; padding: .8rem 1rem; border: 1px solid #dde1e6; font-family: "Noto Sans Mono CJK SC", monospace; }
        img.fingerprint { image-rendering: pixelated; width: 256px; background: #fff; border: 1px solid #dde1e6; }
        table.report td { text-align: right; font-variant-numeric: tabular-nums; }
        table.report tfoot { font-weight: 700; border-top: 2px solid #1a1a1a; }
        tr.slipping th, tr.slipping td { background: #fff3e0; }
        body.printable { background: #fff; margin: 1.5cm; }
        p.signature { margin-top: 3rem; }
        @media print {
            header, form.search, .no-print { display: none; }
            body { background: #fff; }
            main { margin: 0; max-width: none; }
            table { font-size: 10pt; }
            tr.slipping th, tr.slipping td { background: none; }
        }
        """
}
