import Foundation

/// Where one docked camera is, as its tile shows it.
public enum BayState: String, Sendable, Codable, CaseIterable {
    /// Docked; being identified and brought to mass storage (or waiting for a free bay).
    case identifying
    case collecting
    /// Every file copied; the last ones being made durable and their hashes checked.
    case verifying
    /// Every file durable and verified: safe to undock.
    case done
    /// Every file receipted by the server and deleted from the camera.
    case freed
    case error
}

/// One bay's tile: a docked camera and its collection.
public struct BayStatus: Sendable, Codable, Equatable {
    public var serial: String
    public var state: BayState
    /// For `error` (and a waiting `identifying`): what happened, in a sentence.
    public var reason: String?
    /// What the person at the dock should do next, when there is something to do.
    public var nextStep: String?
    public var model: String?
    public var officer: String?
    public var officerName: String?
    public var battery: Int?
    public var filesDone = 0
    public var filesTotal = 0
    public var bytesDone: Int64 = 0
    public var bytesTotal: Int64 = 0
    public var bytesPerSecond: Double?
    public var etaSeconds: Double?
    /// Files newly stored, already stored before, flagged, deleted from the camera.
    public var newFiles = 0
    public var alreadyStored = 0
    public var flagged = 0
    /// New recordings made more than a day before the docking (flagged `late-docking`).
    public var lateDocking = 0
    public var freedFiles = 0
    public var dockedAt: Date
    public var updatedAt: Date
    /// False once the camera has been taken away (an error tile stays until it is docked again).
    public var docked = true

    public init(serial: String, state: BayState, at date: Date = Date()) {
        self.serial = serial
        self.state = state
        dockedAt = date
        updatedAt = date
    }

    enum CodingKeys: String, CodingKey {
        case serial, state, reason, nextStep, model, officer, officerName, battery, filesDone, filesTotal, bytesDone, bytesTotal
        case bytesPerSecond, etaSeconds, newFiles, alreadyStored, flagged, lateDocking, freedFiles, dockedAt, updatedAt, docked
    }

    /// Every key is always there (null when unknown), so a script can rely on the shape.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(serial, forKey: .serial)
        try container.encode(state, forKey: .state)
        try container.encode(reason, forKey: .reason)
        try container.encode(nextStep, forKey: .nextStep)
        try container.encode(model, forKey: .model)
        try container.encode(officer, forKey: .officer)
        try container.encode(officerName, forKey: .officerName)
        try container.encode(battery, forKey: .battery)
        try container.encode(filesDone, forKey: .filesDone)
        try container.encode(filesTotal, forKey: .filesTotal)
        try container.encode(bytesDone, forKey: .bytesDone)
        try container.encode(bytesTotal, forKey: .bytesTotal)
        try container.encode(bytesPerSecond, forKey: .bytesPerSecond)
        try container.encode(etaSeconds, forKey: .etaSeconds)
        try container.encode(newFiles, forKey: .newFiles)
        try container.encode(alreadyStored, forKey: .alreadyStored)
        try container.encode(flagged, forKey: .flagged)
        try container.encode(lateDocking, forKey: .lateDocking)
        try container.encode(freedFiles, forKey: .freedFiles)
        try container.encode(dockedAt, forKey: .dockedAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(docked, forKey: .docked)
    }
}

/// The sync queue as the dock sees it.
public struct SyncSnapshot: Sendable, Codable, Equatable {
    public var enrolled = false
    public var server: String?
    public var collected = 0
    /// Items not yet receipted (nor refused), those being uploaded included.
    public var pending = 0
    public var uploading = 0
    public var receipted = 0
    public var refused = 0
    /// 网上留存率: receipted / collected (1 when nothing was collected).
    public var retainedOnlineRate = 1.0
    /// nil until the server was first asked.
    public var serverReachable: Bool?
    public var lastReceiptAt: Date?
    /// Items taken more than a day ago and not yet receipted.
    public var waitingOverADay = 0
    /// Why the last sync round stopped, if it did not finish.
    public var lastProblem: String?
    /// Whether the upload windows allow uploading now.
    public var inUploadWindow = true
    public var syncing = false

    public init() {}

    enum CodingKeys: String, CodingKey {
        case enrolled, server, collected, pending, uploading, receipted, refused, retainedOnlineRate, serverReachable
        case lastReceiptAt, waitingOverADay, lastProblem, inUploadWindow, syncing
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(enrolled, forKey: .enrolled)
        try container.encode(server, forKey: .server)
        try container.encode(collected, forKey: .collected)
        try container.encode(pending, forKey: .pending)
        try container.encode(uploading, forKey: .uploading)
        try container.encode(receipted, forKey: .receipted)
        try container.encode(refused, forKey: .refused)
        try container.encode(retainedOnlineRate, forKey: .retainedOnlineRate)
        try container.encode(serverReachable, forKey: .serverReachable)
        try container.encode(lastReceiptAt, forKey: .lastReceiptAt)
        try container.encode(waitingOverADay, forKey: .waitingOverADay)
        try container.encode(lastProblem, forKey: .lastProblem)
        try container.encode(inUploadWindow, forKey: .inUploadWindow)
        try container.encode(syncing, forKey: .syncing)
    }
}

/// The station's disk.
public struct DiskSnapshot: Sendable, Codable, Equatable {
    public var path: String
    public var freeBytes: Int64
    public var totalBytes: Int64
    /// True while collection is paused because the disk is full.
    public var full = false
}

/// A registered camera that has not been docked for longer than `silent_camera_days`.
public struct SilentCamera: Sendable, Codable, Equatable {
    public var serial: String
    public var officer: String?
    /// nil: registered but never docked here.
    public var lastDockedAt: Date?
    public var days: Int?

    public init(serial: String, officer: String?, lastDockedAt: Date?, days: Int?) {
        self.serial = serial
        self.officer = officer
        self.lastDockedAt = lastDockedAt
        self.days = days
    }

    enum CodingKeys: String, CodingKey { case serial, officer, lastDockedAt, days }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(serial, forKey: .serial)
        try container.encode(officer, forKey: .officer)
        try container.encode(lastDockedAt, forKey: .lastDockedAt)
        try container.encode(days, forKey: .days)
    }
}

/// Everything the status page and `/api/status` show.
public struct StationStatus: Sendable, Codable, Equatable {
    public var version: String
    public var bays: [BayStatus]
    /// Registered cameras not docked for more than `silent_camera_days`.
    public var silentCameras: [SilentCamera]
    public var sync: SyncSnapshot
    public var disk: DiskSnapshot
    public var warnings: [String]
    public var maxParallelBays: Int
    public var updatedAt: Date
}
