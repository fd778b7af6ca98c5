"""Cellebrite UFDR reports as Physical Analyzer 7.x writes them, made from fictional cases.

Every case, person, number and message here is invented for these tests. The
structure follows real reports (as IPED's UfedXmlReader and test report, and
followthemoney-cellebrite's test report, read them): ``report.xml`` at the
zip's root in namespace ``http://pa.cellebrite.com/report/2.0``, the
extracted files under ``files/<Category>/``, each tagged file's
``Local Path`` written with Windows separators, every value in CDATA, chats
holding ``InstantMessage`` models with ``From`` parties, attachments naming
their file by ``file_id``, ``attachment_extracted_path`` and jump targets.

    >>> from datetime import datetime, timezone
    >>> ali = UfedParty("923001112233@s.whatsapp.net", "Ali Raza")
    >>> chat = UfedChat("WhatsApp", (ali, OWNER), (UfedMessage(ali, WHEN, "Salam"),))
    >>> xml = report_xml(chats=(chat,)).decode()
    >>> '<modelType type="Chat">' in xml and "<![CDATA[Salam]]>" in xml
    True
"""

from __future__ import annotations

import hashlib
import uuid
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import quoteattr

__all__ = [
    "CASE",
    "NS",
    "OWNER",
    "PKT",
    "WHEN",
    "UfedAttachment",
    "UfedCase",
    "UfedChat",
    "UfedEmail",
    "UfedFile",
    "UfedMessage",
    "UfedParty",
    "UfedSms",
    "model_id",
    "report_xml",
    "write_ufdr",
]

NS = "http://pa.cellebrite.com/report/2.0"
PKT = timezone(timedelta(hours=5))  # Pakistan Standard Time
WHEN = datetime(2026, 3, 7, 21, 22, 39, 230000, tzinfo=UTC)
_IDS = uuid.UUID("6b1d4c0e-3f55-4a4e-9d7c-0c1a2b3c4d5e")


def model_id(*key: object) -> str:
    """A stable id for a model or file (reports use GUIDs)."""
    return str(uuid.uuid5(_IDS, "/".join(map(str, key))))


@dataclass(frozen=True)
class UfedCase:
    """The case fields an examiner fills in (``<caseInformation>``)."""

    case_number: str = "FIA/CCW/2026/117"
    case_name: str = "Operation Kingfisher"
    evidence_number: str = "EV-0042"
    examiner: str = "Inspector Sana Mir"
    department: str = "Cyber Crime Wing"
    location: str = "Islamabad"


CASE = UfedCase()


@dataclass(frozen=True)
class UfedParty:
    """A party of a message or chat; ``owner`` is ``IsPhoneOwner`` (None: not written)."""

    identifier: str
    name: str | None = None
    owner: bool | None = False


OWNER = UfedParty("923339876543@s.whatsapp.net", "Kamran Qureshi", owner=True)


@dataclass(frozen=True)
class UfedFile:
    """A tagged file: its bytes go to ``files/<category>/<name>`` in the zip.

    ``sha256``/``md5`` override the hashes the report states (a wrong one, or
    "" for none); ``in_zip`` False lists the file without its bytes.
    """

    name: str
    data: bytes
    device_path: str
    category: str = "Document"
    deleted: bool = False
    sha256: str | None = None
    md5: str | None = None
    in_zip: bool = True
    fs: str = "Samsung SM-A515F"

    @property
    def id(self) -> str:
        return model_id("file", self.device_path)

    @property
    def local_path(self) -> str:
        return f"files/{self.category}/{self.name}"

    @property
    def stated_sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest() if self.sha256 is None else self.sha256

    @property
    def stated_md5(self) -> str:
        return hashlib.md5(self.data).hexdigest() if self.md5 is None else self.md5


@dataclass(frozen=True)
class UfedAttachment:
    """An attachment of a message, naming its tagged file in the ways a report does.

    With ``file`` None the report only keeps the file name (a WhatsApp file
    that was never downloaded, say). ``file_id``, ``extracted_path`` and
    ``jumptarget`` choose which references to the file are written.
    """

    filename: str
    file: UfedFile | None = None
    content_type: str = "application/pdf"
    file_id: bool = True
    extracted_path: bool = True
    jumptarget: bool = True


@dataclass(frozen=True)
class UfedMessage:
    """An instant message of a chat. ``quoted`` writes a quoted copy inside it."""

    sender: UfedParty | None
    sent_at: datetime
    body: str
    attachments: tuple[UfedAttachment, ...] = ()
    deleted: bool = False
    status: str = "Read"
    quoted: UfedMessage | None = None
    key: str = ""  # makes the model id unique when two messages are alike


@dataclass(frozen=True)
class UfedChat:
    """A chat (``<model type="Chat">``) of an app, with its participants and messages."""

    source: str
    participants: tuple[UfedParty, ...]
    messages: tuple[UfedMessage, ...]
    name: str | None = None
    deleted: bool = False

    @property
    def id(self) -> str:
        return model_id("chat", self.source, *(p.identifier for p in self.participants))


@dataclass(frozen=True)
class UfedSms:
    """A text message with one other party: sent (``outgoing``) or received."""

    party: UfedParty
    outgoing: bool
    sent_at: datetime
    body: str
    deleted: bool = False


@dataclass(frozen=True)
class UfedEmail:
    """An e-mail with its parties, subject, body (plain or HTML) and attachments."""

    sender: UfedParty
    to: tuple[UfedParty, ...]
    subject: str
    body: str
    sent_at: datetime
    attachments: tuple[UfedAttachment, ...] = ()
    folder: str = "Inbox"


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)
    depth: int = 0
    serial: int = 0

    def line(self, text: str) -> None:
        self.lines.append("  " * self.depth + text)

    def open(self, text: str) -> None:
        self.line(text)
        self.depth += 1

    def close(self, text: str) -> None:
        self.depth -= 1
        self.line(text)

    def index(self) -> int:
        self.serial += 1
        return self.serial


def _value(text: str) -> str:
    """A value as CDATA; text XML cannot hold (control characters) as character references."""
    if any(_forbidden(c) for c in text):
        out = []
        for char in text:
            if _forbidden(char):
                out.append(f"&#x{ord(char):X};")
            else:
                out.append({"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(char, char))
        return "".join(out)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _forbidden(char: str) -> bool:
    return ord(char) < 0x20 and char not in "\t\n\r"


def _time(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


def _field(w: _Writer, name: str, kind: str, value: str | None) -> None:
    w.open(f'<field name="{name}" type="{kind}">')
    if value is None or value == "":
        w.line("<empty />")
    elif kind == "TimeStamp":
        short = value[:19] + value[23:]
        w.line(
            f'<value type="TimeStamp" format="TimeStampKnown" formattedTimestamp="{short}">'
            f"{value}</value>"
        )
    else:
        w.line(f'<value type="{kind}">{_value(value)}</value>')
    w.close("</field>")


def _model_open(w: _Writer, kind: str, ident: str, deleted: bool = False, extra: str = "") -> None:
    state = "Deleted" if deleted else "Intact"
    w.open(
        f'<model type="{kind}" id="{ident}" deleted_state="{state}" decoding_confidence="High" '
        f'isrelated="False" source_index="{w.index()}" extractionId="0"{extra}>'
    )


def _party(w: _Writer, party: UfedParty, key: str, role: str | None = None) -> None:
    _model_open(w, "Party", model_id("party", key, party.identifier))
    _field(w, "UserMapping", "DecodingSourceOptions", None)
    _field(w, "Identifier", "String", party.identifier)
    if role is not None:
        _field(w, "Role", "PartyRole", role)
    _field(w, "Name", "String", party.name)
    if party.owner is not None:
        _field(w, "IsPhoneOwner", "Boolean", "True" if party.owner else "False")
    _field(w, "IsGroupAdmin", "Boolean", None)
    w.close("</model>")


def _attachments(w: _Writer, attachments: Sequence[UfedAttachment], key: str) -> None:
    if not attachments:
        w.line('<multiModelField name="Attachments" type="Attachment" />')
        return
    w.open('<multiModelField name="Attachments" type="Attachment">')
    for n, attachment in enumerate(attachments):
        file = attachment.file
        extra = f' file_id="{file.id}"' if file is not None and attachment.file_id else ""
        _model_open(w, "Attachment", model_id("attachment", key, n), extra=extra)
        _field(w, "Filename", "String", attachment.filename)
        _field(w, "ContentType", "String", attachment.content_type)
        w.open('<dataField name="Data" type="MemoryRange">')
        w.line(f'<source length="{len(file.data) if file is not None else 0}" />')
        w.close("</dataField>")
        _field(w, "URL", "String", "https://mmg.example.net/d/f/" + model_id("url", key, n))
        _field(w, "Title", "String", None)
        if file is not None and attachment.extracted_path:
            _field(w, "attachment_extracted_path", "String", file.local_path.replace("/", "\\"))
        w.close("</model>")
    w.close("</multiModelField>")


def _jumptargets(w: _Writer, attachments: Sequence[UfedAttachment]) -> None:
    targets = [a.file.id for a in attachments if a.file is not None and a.jumptarget]
    if targets:
        w.open('<jumptargets name="">')
        for target in targets:
            w.line(f'<targetid ismodel="false"><![CDATA[{target}]]></targetid>')
        w.close("</jumptargets>")


def _instant_message(w: _Writer, message: UfedMessage, source: str, ident: str) -> None:
    _model_open(w, "InstantMessage", ident, message.deleted)
    _field(w, "UserMapping", "DecodingSourceOptions", "Decoding")
    _field(w, "Source", "String", source)
    _field(w, "ServiceIdentifier", "String", None)
    if message.sender is None:
        w.open('<modelField name="From" type="Party">')
        w.line("<empty />")
        w.close("</modelField>")
    else:
        w.open('<modelField name="From" type="Party">')
        _party(w, message.sender, ident, role="From")
        w.close("</modelField>")
    w.line('<multiModelField name="To" type="Party" />')
    _field(w, "Body", "String", message.body)
    _field(w, "Identifier", "String", model_id("wa-key", ident).replace("-", "").upper())
    _field(w, "TimeStamp", "TimeStamp", _time(message.sent_at))
    w.open('<modelField name="Attachment" type="Attachment">')
    w.line("<empty />")
    w.close("</modelField>")
    _attachments(w, message.attachments, ident)
    _field(w, "Status", "MessageStatus", message.status)
    w.line('<multiModelField name="SharedContacts" type="Contact" />')
    _field(w, "Platform", "Platform", "Mobile")
    if message.quoted is not None:
        quoted_id = model_id("quoted", ident)
        w.open('<multiModelField name="MessageExtraData" type="InstantMessageExtraData">')
        _model_open(w, "QuotedMessageData", model_id("quote-data", ident))
        _field(w, "Label", "Label", "Reply")
        _field(w, "ReferenceId", "Guid", quoted_id)
        w.close("</model>")
        w.close("</multiModelField>")
    _field(w, "Type", "InstantMessageType", "AppMessage")
    if message.quoted is not None:
        w.open('<multiModelField name="EmbeddedInstantMessage" type="InstantMessage">')
        _instant_message(w, message.quoted, source, model_id("quoted", ident))
        w.close("</multiModelField>")
    else:
        w.line('<multiModelField name="EmbeddedInstantMessage" type="InstantMessage" />')
    _field(w, "SourceApplication", "String", source)
    _jumptargets(w, message.attachments)
    w.close("</model>")


def _chat(w: _Writer, chat: UfedChat) -> None:
    _model_open(w, "Chat", chat.id, chat.deleted)
    _field(w, "UserMapping", "DecodingSourceOptions", "Decoding")
    _field(w, "Source", "String", chat.source)
    _field(w, "ServiceIdentifier", "String", None)
    _field(w, "Id", "String", chat.participants[0].identifier if chat.participants else None)
    _field(w, "Name", "String", chat.name)
    if chat.messages:
        _field(w, "StartTime", "TimeStamp", _time(chat.messages[0].sent_at))
        _field(w, "LastActivity", "TimeStamp", _time(chat.messages[-1].sent_at))
    w.open('<multiModelField name="Participants" type="Party">')
    for party in chat.participants:
        _party(w, party, chat.id)
    w.close("</multiModelField>")
    w.open('<multiModelField name="Photos" type="ContactPhoto">')
    _model_open(w, "ContactPhoto", model_id("photo", chat.id))
    _field(w, "Name", "String", None)
    w.line('<multiField name="Url" type="String" />')
    w.open('<nodeField name="PhotoNode">')
    w.line(f'<id name="{chat.participants[0].identifier}.j">{model_id("node", chat.id)}</id>')
    w.close("</nodeField>")
    w.close("</model>")
    w.close("</multiModelField>")
    w.open('<multiModelField name="Messages" type="InstantMessage">')
    for n, message in enumerate(chat.messages):
        _instant_message(w, message, chat.source, model_id("im", chat.id, n, message.key))
    w.close("</multiModelField>")
    w.close("</model>")


def _sms(w: _Writer, sms: UfedSms, n: int) -> None:
    _model_open(w, "SMS", model_id("sms", n, sms.party.identifier), sms.deleted)
    _field(w, "TimeStamp", "TimeStamp", _time(sms.sent_at))
    _field(w, "Status", "MessageStatus", "Sent" if sms.outgoing else "Read")
    w.open('<multiModelField name="Parties" type="Party">')
    _party(w, sms.party, f"sms{n}", role="To" if sms.outgoing else "From")
    w.close("</multiModelField>")
    _field(w, "Folder", "String", "Sent" if sms.outgoing else "Inbox")
    _field(w, "SMSC", "String", "+923000000011")
    _field(w, "Body", "String", sms.body)
    _field(w, "Source", "String", "Phone")
    w.close("</model>")


def _email(w: _Writer, email: UfedEmail, n: int) -> None:
    ident = model_id("email", n, email.subject)
    _model_open(w, "Email", ident)
    _field(w, "Source", "String", "Gmail")
    _field(w, "Account", "String", OWNER_EMAIL)
    _field(w, "Folder", "String", email.folder)
    w.open('<modelField name="From" type="Party">')
    _party(w, email.sender, ident, role="From")
    w.close("</modelField>")
    w.open('<multiModelField name="To" type="Party">')
    for party in email.to:
        _party(w, party, ident, role="To")
    w.close("</multiModelField>")
    w.line('<multiModelField name="Cc" type="Party" />')
    w.line('<multiModelField name="Bcc" type="Party" />')
    _field(w, "Subject", "String", email.subject)
    _field(w, "Body", "String", email.body)
    _field(w, "TimeStamp", "TimeStamp", _time(email.sent_at))
    _field(w, "Status", "MessageStatus", "Read")
    _attachments(w, email.attachments, ident)
    _jumptargets(w, email.attachments)
    w.close("</model>")


OWNER_EMAIL = "kamran.qureshi.77@gmail.example"


def _others(w: _Writer) -> None:
    """Models a message reader steps over: a call and a contact."""
    w.open('<modelType type="Call">')
    _model_open(w, "Call", model_id("call", 1))
    _field(w, "Type", "CallType", "Incoming")
    _field(w, "TimeStamp", "TimeStamp", _time(WHEN))
    _field(w, "Duration", "TimeSpan", "00:01:06")
    w.open('<multiModelField name="Parties" type="Party">')
    _party(w, UfedParty("+923214445566", "Bilal Khan"), "call1", role="From")
    w.close("</multiModelField>")
    w.close("</model>")
    w.close("</modelType>")
    w.open('<modelType type="Contact">')
    _model_open(w, "Contact", model_id("contact", 1))
    _field(w, "Name", "String", "Bilal Khan")
    w.open('<multiModelField name="Entries" type="ContactEntry">')
    _model_open(w, "PhoneNumber", model_id("number", 1))
    _field(w, "Value", "String", "+923214445566")
    w.close("</model>")
    w.close("</multiModelField>")
    w.close("</model>")
    w.close("</modelType>")


def _file(w: _Writer, file: UfedFile) -> None:
    w.open(
        f'<file fs={quoteattr(file.fs)} fsid="{model_id("fs", file.fs)}" '
        f'path={quoteattr(file.device_path)} size="{len(file.data)}" id="{file.id}" '
        f'extractionId="0" deleted="{"Deleted" if file.deleted else "Intact"}" '
        'embedded="false" isrelated="False">'
    )
    w.open("<accessInfo>")
    w.line(f'<timestamp name="CreationTime">{_time(WHEN)}</timestamp>')
    w.line(f'<timestamp name="ModifyTime">{_time(WHEN)}</timestamp>')
    w.close("</accessInfo>")
    w.open('<metadata section="File">')
    w.line(f'<item name="Local Path"><![CDATA[{file.local_path.replace("/", chr(92))}]]></item>')
    if file.stated_sha256:
        w.line(f'<item name="SHA256"><![CDATA[{file.stated_sha256}]]></item>')
    if file.stated_md5:
        w.line(f'<item name="MD5"><![CDATA[{file.stated_md5}]]></item>')
    w.line(f'<item name="Tags"><![CDATA[{file.category}s]]></item>')
    w.close("</metadata>")
    w.open('<metadata section="MetaData">')
    w.line(f'<item name="File size"><![CDATA[{len(file.data)} Bytes]]></item>')
    w.close("</metadata>")
    w.close("</file>")


def report_xml(
    case: UfedCase = CASE,
    files: Sequence[UfedFile] = (),
    chats: Sequence[UfedChat] = (),
    sms: Sequence[UfedSms] = (),
    emails: Sequence[UfedEmail] = (),
    others: bool = True,
) -> bytes:
    """A ``report.xml``: header, case, device, tagged files and decoded data (UTF-8)."""
    w = _Writer()
    w.line('<?xml version="1.0" encoding="utf-8"?>')
    w.open(
        f'<project id="{model_id("project", case.case_number)}" name="{case.case_name}" '
        'reportVersion="7.60.0.103" licenseID="0000000000" containsGarbage="False" '
        f'extractionType="FileSystem" NodeCount="{len(files)}" ModelCount="0" xmlns="{NS}">'
    )
    w.open("<sourceExtractions>")
    w.line(
        '<extractionInfo id="0" name="File System" isCustomName="False" type="FileSystem" '
        'deviceName="SM-A515F" fullName="Samsung Galaxy A51" index="0" IsPartialData="False" />'
    )
    w.close("</sourceExtractions>")
    w.open("<caseInformation>")
    for name, kind, system, value in (
        ("Case number", "CaseNumber", "True", case.case_number),
        ("Case name", "CaseName", "True", case.case_name),
        ("Evidence number", "EvidenceNumber", "True", case.evidence_number),
        ("Examiner name", "None", "False", case.examiner),
        ("Department", "None", "False", case.department),
        ("Location", "None", "False", case.location),
    ):
        w.line(
            f'<field name="{name}" isSystem="{system}" isRequired="False" fieldType="{kind}" '
            f'multipleLines="False">{_value(value)}</field>'
        )
    w.close("</caseInformation>")
    w.open('<metadata section="Extraction Data">')
    for name, value in (
        ("Extraction start date/time", "2026-03-10T09:12:00+05:00"),
        ("Extraction end date/time", "2026-03-10T10:47:31+05:00"),
        ("Unit Version", "UFED 4PC 7.60.0.103"),
        ("Connection Type", "USB Cable"),
    ):
        w.line(f'<item name="{name}" sourceExtraction="0">{_value(value)}</item>')
    w.close("</metadata>")
    w.open('<metadata section="Device Info">')
    for name, value in (
        ("DeviceInfoSelectedManufacturer", "Samsung"),
        ("DeviceInfoDetectedModel", "SM-A515F"),
        ("DeviceInfoOwnerName", "Kamran Qureshi"),
        ("IMEI", "356938035643809"),
        ("MSISDN", "+923339876543"),
    ):
        w.line(f'<item name="{name}" sourceExtraction="0">{_value(value)}</item>')
    w.close("</metadata>")
    w.line("<images />")
    w.open("<taggedFiles>")
    for file in files:
        _file(w, file)
    w.close("</taggedFiles>")
    w.open("<decodedData>")
    if chats:
        w.open('<modelType type="Chat">')
        for chat in chats:
            _chat(w, chat)
        w.close("</modelType>")
    if sms:
        w.open('<modelType type="SMS">')
        for n, one in enumerate(sms):
            _sms(w, one, n)
        w.close("</modelType>")
    if emails:
        w.open('<modelType type="Email">')
        for n, email in enumerate(emails):
            _email(w, email, n)
        w.close("</modelType>")
    if others:
        _others(w)
    w.close("</decodedData>")
    w.line("<carvedFiles />")
    w.close("</project>")
    return ("\n".join(w.lines) + "\n").encode()


def write_ufdr(
    path: Path | str,
    case: UfedCase = CASE,
    files: Sequence[UfedFile] = (),
    chats: Sequence[UfedChat] = (),
    sms: Sequence[UfedSms] = (),
    emails: Sequence[UfedEmail] = (),
    *,
    others: bool = True,
    report_name: str = "report.xml",
    edit: Callable[[bytes], bytes] | None = None,
) -> Path:
    """Write a ``.ufdr`` zip: the report (``edit`` may damage it first) and the files' bytes."""
    path = Path(path)
    xml = report_xml(case, files, chats, sms, emails, others)
    if edit is not None:
        xml = edit(xml)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(report_name, xml)
        for file in files:
            if file.in_zip:
                archive.writestr(file.local_path, file.data)
    return path
