"""E-mail as a container: real messages made with the stdlib (and .msg files with extract_msg's
own OLE writer), read back into text, attachments and problems. All text here is invented."""

from __future__ import annotations

import base64
import contextlib
import io
import logging
import struct
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leakscan.errors import EncryptedDocumentError, ExtractionError, UnsupportedFormatError
from leakscan.exports.mail import Mail, MailPart, looks_like_eml, read_eml, read_msg

URDU_SUBJECT = "بندرگاہ منصوبہ کا مسودہ"  # encodable in Windows-1256 (no Farsi yeh)
URDU_BODY = "اجلاس رپورٹ: بندرگاہ منصوبہ کا مسودہ نقل ہے۔"
URDU_BODY_1256 = "اجلاس رپورٹ، بندرگاہ منصوبہ کا مسودہ"
ENGLISH_BODY = "The harbour survey draft is attached. Please keep it within the working group."
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PDF_BLOB = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n" + bytes(range(256)) + b"\n%%EOF\n"


def make_docx(text: str) -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def new_mail(subject: str = "Harbour survey", body: str = ENGLISH_BODY) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Nadia Qureshi <nadia@example.org>"
    mail["To"] = "Omar Baig <omar@example.net>, survey@example.net"
    mail["Cc"] = "archive@example.org"
    mail["Date"] = "Tue, 05 Mar 2024 09:15:00 +0500"
    mail["Subject"] = subject
    mail["Message-ID"] = "<survey-1@example.org>"
    mail.set_content(body)
    return mail


def crlf(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=default_policy.clone(linesep="\r\n"))


# --- headers and bodies ---------------------------------------------------


def test_plain_mail_gives_headers_then_body() -> None:
    mail = read_eml(crlf(new_mail()))
    assert mail.text == (
        "From: Nadia Qureshi <nadia@example.org>\n"
        "To: Omar Baig <omar@example.net>, survey@example.net\n"
        "Cc: archive@example.org\n"
        "Date: Tue, 05 Mar 2024 09:15:00 +0500\n"
        "Subject: Harbour survey\n"
        "\n" + ENGLISH_BODY
    )
    assert mail.attachments == ()
    assert mail.problems == ()


def test_urdu_subject_and_body_in_utf8() -> None:
    message = new_mail(URDU_SUBJECT, URDU_BODY)
    message.replace_header("From", "نادیہ قریشی <nadia@example.org>")
    data = crlf(message)
    assert b"=?utf-8?" in data  # subject and name travel as RFC 2047 encoded words
    mail = read_eml(data)
    assert mail.text.startswith("From: نادیہ قریشی <nadia@example.org>\n")
    assert f"Subject: {URDU_SUBJECT}\n" in mail.text
    assert mail.text.endswith(URDU_BODY)
    assert mail.problems == ()


def test_urdu_in_windows_1256_declared() -> None:
    subject = base64.b64encode(URDU_SUBJECT.encode("cp1256")).decode()
    data = (
        (
            "From: nadia@example.org\r\n"
            f"Subject: =?windows-1256?b?{subject}?=\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=windows-1256\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "\r\n"
        ).encode("ascii")
        + URDU_BODY_1256.encode("cp1256")
        + b"\r\n"
    )
    mail = read_eml(data)
    assert f"Subject: {URDU_SUBJECT}\n" in mail.text
    assert mail.text.endswith(URDU_BODY_1256)
    assert mail.problems == ()


def test_quoted_printable_urdu() -> None:
    message = new_mail(URDU_SUBJECT)
    message.set_content(URDU_BODY, cte="quoted-printable")
    data = crlf(message)
    assert b"=D8=A7" in data  # alef, quoted-printable
    assert read_eml(data).text.endswith(URDU_BODY)


def test_undeclared_8bit_body_falls_back_and_says_so() -> None:
    head = b"From: nadia@example.org\r\nSubject: note\r\nMIME-Version: 1.0\r\n\r\n"
    as_utf8 = read_eml(head + URDU_BODY.encode("utf-8"))
    assert as_utf8.text.endswith(URDU_BODY)
    assert len(as_utf8.problems) == 1
    assert "no charset declared; read as utf-8" in as_utf8.problems[0]
    as_1252 = read_eml(head + "Café minutes, draft".encode("cp1252"))
    assert as_1252.text.endswith("Café minutes, draft")
    assert "read as cp1252" in as_1252.problems[0]


def test_raw_8bit_urdu_header_in_a_windows_1256_mail() -> None:
    data = (
        b"From: nadia@example.org\r\nSubject: "
        + URDU_SUBJECT.encode("cp1256")
        + b"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1256\r\n\r\n"
        + URDU_BODY_1256.encode("cp1256")
    )
    mail = read_eml(data)
    assert f"Subject: {URDU_SUBJECT}\n" in mail.text
    assert any("header Subject" in p and "windows-1256" in p for p in mail.problems)


@pytest.mark.parametrize("charset", ["x-no-such-charset", "zlib", "rot13"])
def test_unknown_charset_is_noted(charset: str) -> None:
    data = (
        b"From: nadia@example.org\r\nSubject: note\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n\r\nplain words\r\n"
    )
    mail = read_eml(data)
    assert mail.text.endswith("plain words")
    assert mail.problems == (f"message: unknown charset {charset!r}; read as utf-8",)


def test_body_not_valid_in_its_declared_charset() -> None:
    data = (
        b"From: nadia@example.org\r\nSubject: note\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nplain \xff words\r\n"
    )
    mail = read_eml(data)
    assert mail.text.endswith("plain \ufffd words")
    assert mail.problems == (
        "message: not valid utf-8 (byte 0xff at offset 6); undecodable bytes replaced",
    )


def test_html_only_mail_gives_visible_text() -> None:
    message = new_mail()
    message.set_content(
        "<html><head><title>hidden title</title><style>p {color: red}</style></head>"
        "<body><p>First   paragraph\n about the <b>harbour</b>.</p>"
        "<script>var secret = 'not shown';</script>"
        f"<div dir='rtl'>{URDU_BODY}</div><!-- a comment --><p>Last&nbsp;line</p></body></html>",
        subtype="html",
    )
    mail = read_eml(crlf(message))
    body = mail.text.split("\n\n", 1)[1]
    assert body == f"First paragraph about the harbour.\n{URDU_BODY}\nLast\xa0line"
    assert mail.problems == ()


def test_alternative_prefers_plain_text() -> None:
    message = new_mail()
    message.add_alternative("<p>HTML rendering of the same note</p>", subtype="html")
    mail = read_eml(crlf(message))
    assert mail.text.endswith(ENGLISH_BODY)
    assert "HTML rendering" not in mail.text


def test_alternative_with_empty_plain_uses_html() -> None:
    message = new_mail(body="  \n")
    message.add_alternative("<p>Only the HTML says it</p>", subtype="html")
    assert read_eml(crlf(message)).text.endswith("Only the HTML says it")


def test_second_inline_text_part_is_appended() -> None:
    message = new_mail()
    message.make_mixed()
    extra = EmailMessage()
    extra.set_content("A second inline note, typed below a picture.")
    message.attach(extra)
    mail = read_eml(crlf(message))
    assert mail.text.endswith(ENGLISH_BODY + "\n\nA second inline note, typed below a picture.")
    assert mail.attachments == ()


# --- attachments ----------------------------------------------------------


def test_attachments_are_decoded_members() -> None:
    docx_bytes = make_docx("Working group minutes, fictional.")
    message = new_mail()
    message.add_attachment(PDF_BLOB, maintype="application", subtype="pdf", filename="survey.pdf")
    message.add_attachment(
        docx_bytes,
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="minutes.docx",
    )
    mail = read_eml(crlf(message))
    assert mail.attachments == (
        MailPart("survey.pdf", PDF_BLOB, "application/pdf"),
        MailPart(
            "minutes.docx",
            docx_bytes,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
    )
    assert mail.text.endswith(ENGLISH_BODY)
    assert mail.problems == ()


def test_urdu_file_name_rfc2231() -> None:
    message = new_mail()
    message.add_attachment(
        PDF_BLOB, maintype="application", subtype="pdf", filename="بندرگاہ نقشہ.pdf"
    )
    data = crlf(message)
    assert b"filename*0*=utf-8''%D8%A8" in data  # RFC 2231, split into continuations
    assert read_eml(data).attachments[0].name == "بندرگاہ نقشہ.pdf"


def test_urdu_file_name_rfc2047() -> None:
    encoded = base64.b64encode("مسودہ.pdf".encode()).decode()
    pdf = base64.b64encode(PDF_BLOB).decode()
    data = (
        "From: nadia@example.org\r\nSubject: draft\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        f'--b1\r\nContent-Type: application/pdf; name="=?utf-8?b?{encoded}?="\r\n'
        "Content-Transfer-Encoding: base64\r\n"
        f'Content-Disposition: attachment; filename="=?utf-8?b?{encoded}?="\r\n\r\n'
        f"{pdf}\r\n--b1--\r\n"
    ).encode("ascii")
    mail = read_eml(data)
    assert mail.attachments == (MailPart("مسودہ.pdf", PDF_BLOB, "application/pdf"),)
    assert mail.problems == ()


def test_file_name_is_kept_exactly_as_given() -> None:
    message = new_mail()
    message.add_attachment(b"x", maintype="text", subtype="plain", filename="../../etc/x.txt")
    message.add_attachment(b"y", maintype="text", subtype="plain", filename="/abs/y.txt")
    names = [part.name for part in read_eml(crlf(message)).attachments]
    assert names == ["../../etc/x.txt", "/abs/y.txt"]


def test_unnamed_attachment_gets_part_name() -> None:
    message = new_mail()
    message.add_attachment(PDF_BLOB, maintype="application", subtype="pdf")
    (part,) = read_eml(crlf(message)).attachments
    assert part == MailPart("part-3.pdf", PDF_BLOB, "application/pdf")


def test_forwarded_message_becomes_an_eml_member() -> None:
    inner = new_mail("Fwd source: tide tables", "Inner body about tide tables.")
    inner.add_attachment(PDF_BLOB, maintype="application", subtype="pdf", filename="tides.pdf")
    outer = new_mail()
    outer.add_attachment(inner)
    anonymous = EmailMessage()
    anonymous["From"] = "someone@example.org"
    anonymous.set_content("no subject here")
    outer.add_attachment(anonymous)
    mail = read_eml(crlf(outer))
    assert [(p.name, p.content_type) for p in mail.attachments] == [
        ("Fwd source: tide tables.eml", "message/rfc822"),
        ("forwarded-2.eml", "message/rfc822"),
    ]
    assert "tide tables" not in mail.text.split("\n\n", 1)[1]  # not read into the outer text
    again = read_eml(mail.attachments[0].data)
    assert again.text.endswith("Inner body about tide tables.")
    assert again.attachments == (MailPart("tides.pdf", PDF_BLOB, "application/pdf"),)


def test_forwarded_subject_with_slash_is_made_safe() -> None:
    outer = new_mail()
    outer.add_attachment(new_mail("Plan 2/3 \\ revised"))
    assert read_eml(crlf(outer)).attachments[0].name == "Plan 2_3 _ revised.eml"


def test_signature_part_is_skipped() -> None:
    data = (
        b"From: nadia@example.org\r\nSubject: signed\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=s\r\n'
        b"\r\n--s\r\nContent-Type: text/plain\r\n\r\nsigned words\r\n"
        b"--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQE=\r\n--s--\r\n"
    )
    mail = read_eml(data)
    assert mail.text.endswith("signed words")
    assert mail.attachments == ()


# --- damage ---------------------------------------------------------------


def test_truncated_mail_gives_what_it_can() -> None:
    big = bytes(range(256)) * 40
    message = new_mail()
    message.add_attachment(big, maintype="application", subtype="pdf", filename="cut.pdf")
    data = crlf(message)
    mail = read_eml(data[: len(data) - 2000 - 1])
    assert mail.text.endswith(ENGLISH_BODY)
    (part,) = mail.attachments
    assert part.name == "cut.pdf"
    assert 0 < len(part.data) < len(big)
    assert big.startswith(part.data)
    assert any("truncated" in p for p in mail.problems)


def test_bad_base64_is_noted_not_dropped() -> None:
    data = (
        b"From: nadia@example.org\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        b"body\r\n--b\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBER!!i0x#LjQK\r\n--b--\r\n"
    )
    mail = read_eml(data)
    assert mail.attachments == (MailPart("a.pdf", b"%PDF-1.4\n", "application/pdf"),)
    assert mail.problems == ("part 3 (a.pdf): 3 characters that are not base64 skipped (damaged?)",)


def test_too_many_parts_stops_with_a_note() -> None:
    message = new_mail()
    for n in range(5):
        message.add_attachment(b"x", maintype="application", subtype="pdf", filename=f"{n}.pdf")
    mail = read_eml(crlf(message), max_parts=4)
    assert len(mail.attachments) == 2
    assert mail.problems == ("more than 4 MIME parts: the rest of the message was not read",)


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01\x02\xffgarbage bytes\x89PNG\r\n",
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        b"just a line of text\nand another\n",
    ],
)
def test_not_a_mail_is_an_extraction_error(data: bytes) -> None:
    with pytest.raises(ExtractionError, match="not an e-mail message"):
        read_eml(data)


def test_empty_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="empty"):
        read_eml(b"")


def test_encrypted_mail_is_reported_as_encrypted() -> None:
    data = (
        b"From: nadia@example.org\r\nSubject: sealed\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary=e\r\n'
        b"\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n"
        b"--e\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\n"
        b"--e--\r\n"
    )
    with pytest.raises(EncryptedDocumentError):
        read_eml(data)


@settings(max_examples=200)
@given(st.binary(max_size=2000))
def test_any_bytes_give_a_mail_or_an_extraction_error(data: bytes) -> None:
    with contextlib.suppress(ExtractionError):
        assert isinstance(read_eml(data), Mail)


@settings(max_examples=100)
@given(st.integers(min_value=1, max_value=10_000))
def test_any_cut_of_a_real_mail_reads_or_fails_cleanly(cut: int) -> None:
    message = new_mail(URDU_SUBJECT, URDU_BODY)
    message.add_attachment(PDF_BLOB, maintype="application", subtype="pdf", filename="a.pdf")
    message.add_attachment(new_mail("inner"))
    data = crlf(message)
    with contextlib.suppress(ExtractionError):
        read_eml(data[: cut % len(data) + 1])


# --- content check --------------------------------------------------------


def sample_mails() -> dict[str, bytes]:
    with_attachment = new_mail()
    with_attachment.add_attachment(
        PDF_BLOB, maintype="application", subtype="pdf", filename="a.pdf"
    )
    html = new_mail()
    html.set_content("<p>hello</p>", subtype="html")
    return {
        "plain": crlf(new_mail()),
        "plain-lf": new_mail().as_bytes(),
        "urdu": crlf(new_mail(URDU_SUBJECT, URDU_BODY)),
        "attachment": crlf(with_attachment),
        "html": crlf(html),
        "mbox-line": b"From nadia@example.org Tue Mar  5 09:15:00 2024\n" + new_mail().as_bytes(),
        "minimal": b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n",
        # libmagic (5.x) calls these four text/plain, not message/rfc822:
        "subject-first": b"Subject: hi\r\nFrom: a@example.org\r\n\r\nhello\r\n",
        "message-id-first": b"Message-ID: <x@example.org>\r\nFrom: a@example.org\r\n\r\nhi\r\n",
        "mime-first": b"MIME-Version: 1.0\r\nFrom: a@example.org\r\nSubject: hi\r\n\r\nhi\r\n",
        "received-first": b"Received: from mx.example.org by mail.example.net\r\n"
        + crlf(new_mail()),
        "thunderbird": b"X-Mozilla-Status: 0001\r\nX-Mozilla-Status2: 00000000\r\n"
        + crlf(new_mail()),
        "bom-and-blank-line": b"\xef\xbb\xbf\r\n" + crlf(new_mail()),
    }


@pytest.mark.parametrize("name", sorted(sample_mails()))
def test_looks_like_eml_on_real_mails(name: str) -> None:
    data = sample_mails()[name]
    assert looks_like_eml(data)
    assert read_eml(data).text.startswith("From: ")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"Subject: minutes\nDate: Monday\n\nA memo, not a mail.",
        b"Dear colleague,\nFrom: the desk\n",
        b"%PDF-1.4\n",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600),
        b" From: indented@example.org\nSubject: x\n\n",
    ],
)
def test_looks_like_eml_rejects_other_content(data: bytes) -> None:
    assert not looks_like_eml(data)


# --- Outlook .msg ---------------------------------------------------------
# No tool here writes Outlook's own .msg files, so these are built to the
# [MS-OXMSG] layout with extract_msg's OLE (compound file) writer: the streams
# and property records Outlook writes, but not a file Outlook itself made.

UNICODE_STORE = 0x00040000
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _add_object(
    writer: Any, path: list[str], fields: dict[tuple[int, int], Any], head: bytes
) -> None:
    """One property stream, with a __substg1.0_ stream for each variable-length value."""
    records = head
    for (tag, kind), value in fields.items():
        if kind == 0x0003:
            records += struct.pack("<HHII4x", kind, tag, 6, value)
            continue
        data = value.encode("utf-16-le") if kind == 0x001F else value
        size = len(data) + (2 if kind == 0x001F else 0)
        records += struct.pack("<HHIII", kind, tag, 6, size, 0)
        writer.addEntry([*path, f"__substg1.0_{tag:04X}{kind:04X}"], data)
    writer.addEntry([*path, "__properties_version1.0"], records)


def _add_message(writer: Any, path: list[str], spec: dict[str, Any], embedded: bool) -> None:
    recipients = spec.get("recipients", [])
    attachments = spec.get("attachments", [])
    fields: dict[tuple[int, int], Any] = {
        (0x001A, 0x001F): spec.get("class", "IPM.Note"),
        (0x0E07, 0x0003): 1,  # read, sent
        (0x340D, 0x0003): UNICODE_STORE,
    }
    for key, tag in (("subject", 0x0037), ("body", 0x1000), ("headers", 0x007D)):
        if key in spec:
            fields[(tag, 0x001F)] = spec[key]
    if "html" in spec:
        fields[(0x1013, 0x0102)] = spec["html"]
    counts = struct.pack(
        "<8x4I", len(recipients), len(attachments), len(recipients), len(attachments)
    )
    _add_object(writer, path, fields, counts if embedded else counts + bytes(8))
    for n, (kind, name, address) in enumerate(recipients):
        recipient = {(0x0C15, 0x0003): kind, (0x3001, 0x001F): name, (0x39FE, 0x001F): address}
        _add_object(writer, [*path, f"__recip_version1.0_#{n:08X}"], recipient, bytes(8))
    for n, attachment in enumerate(attachments):
        where = [*path, f"__attach_version1.0_#{n:08X}"]
        if "message" in attachment:
            _add_object(
                writer,
                where,
                {(0x3705, 0x0003): 5, (0x3001, 0x001F): attachment["display"]},
                bytes(8),
            )
            writer.addEntry([*where, "__substg1.0_3701000D"], storage=True)
            _add_message(writer, [*where, "__substg1.0_3701000D"], attachment["message"], True)
        else:
            fields = {
                (0x3705, 0x0003): 1,  # attached by value
                (0x3707, 0x001F): attachment["name"],
                (0x3701, 0x0102): attachment["data"],
            }
            if "mime" in attachment:
                fields[(0x370E, 0x001F)] = attachment["mime"]
            _add_object(writer, where, fields, bytes(8))


def build_msg(spec: dict[str, Any]) -> bytes:
    from extract_msg import OleWriter

    writer = OleWriter()
    writer.addEntry(["__nameid_version1.0"], storage=True)
    for stream in ("00020102", "00030102", "00040102"):
        writer.addEntry(["__nameid_version1.0", f"__substg1.0_{stream}"], b"")
    _add_message(writer, [], spec, False)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


MSG_HEADERS = (
    "From: Nadia Qureshi <nadia@example.org>\r\nTo: omar@example.net\r\n"
    "Date: Tue, 05 Mar 2024 09:15:00 +0500\r\nSubject: harbour\r\n"
)


def test_msg_with_attachments_and_embedded_message() -> None:
    docx_bytes = make_docx("Working group minutes, fictional.")
    inner = {"subject": "Tide tables", "body": "Inner body about tide tables.\r\n"}
    data = build_msg(
        {
            "subject": URDU_SUBJECT,
            "body": f"{ENGLISH_BODY}\r\n{URDU_BODY}\r\n",
            "headers": MSG_HEADERS,
            "attachments": [
                {"name": "بندرگاہ نقشہ.pdf", "data": PDF_BLOB, "mime": "application/pdf"},
                {"name": "minutes.docx", "data": docx_bytes},
                {"message": inner, "display": "Tide tables"},
            ],
        }
    )
    mail = read_msg(data)
    assert mail.text == (
        "From: Nadia Qureshi <nadia@example.org>\nTo: omar@example.net\n"
        f"Date: Tue, 05 Mar 2024 09:15:00 +0500\nSubject: {URDU_SUBJECT}\n\n"
        f"{ENGLISH_BODY}\n{URDU_BODY}"
    )
    assert [(p.name, p.content_type) for p in mail.attachments] == [
        ("بندرگاہ نقشہ.pdf", "application/pdf"),
        ("minutes.docx", DOCX),  # no MIME tag in the .msg: extract_msg guesses from the name
        ("Tide tables.msg", "application/vnd.ms-outlook"),
    ]
    assert mail.attachments[0].data == PDF_BLOB
    assert mail.attachments[1].data == docx_bytes
    assert mail.problems == ()
    embedded = read_msg(mail.attachments[2].data)
    assert embedded.text == "Subject: Tide tables\n\nInner body about tide tables."


def test_msg_recipients_without_transport_headers() -> None:
    data = build_msg(
        {
            "subject": "minutes",
            "body": "text",
            "recipients": [(1, "Omar Baig", "omar@example.net"), (2, "Archive", "a@example.org")],
        }
    )
    mail = read_msg(data)
    assert mail.text == (
        "To: Omar Baig <omar@example.net>\nCc: Archive <a@example.org>\nSubject: minutes\n\ntext"
    )


def test_msg_html_only_body() -> None:
    html = f"<html><body><p>{URDU_BODY}</p><script>hidden()</script></body></html>"
    mail = read_msg(build_msg({"subject": "s", "html": html.encode("utf-8")}))
    assert mail.text.endswith(f"\n\n{URDU_BODY}")


def test_msg_smime_encrypted() -> None:
    enveloped = b"\x30\x80\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x03\xa0\x80" + bytes(64)
    data = build_msg(
        {
            "class": "IPM.Note.SMIME",
            "subject": "sealed",
            "attachments": [
                {"name": "smime.p7m", "data": enveloped, "mime": "application/pkcs7-mime"}
            ],
        }
    )
    with pytest.raises(EncryptedDocumentError, match="S/MIME"):
        read_msg(data)


def test_msg_rights_protected() -> None:
    data = build_msg(
        {
            "subject": "restricted",
            "attachments": [{"name": "message.rpmsg", "data": b"\x76\xe8\x04\x60" + bytes(40)}],
        }
    )
    with pytest.raises(EncryptedDocumentError, match="IRM"):
        read_msg(data)


def test_msg_of_unsupported_item_type() -> None:
    with pytest.raises(UnsupportedFormatError, match=r"IPM\.Outlook\.Recall"):
        read_msg(build_msg({"class": "IPM.Outlook.Recall", "subject": "x"}))


def test_ole_file_that_is_not_a_msg() -> None:
    from extract_msg import OleWriter

    writer = OleWriter()
    writer.addEntry(["WordDocument"], bytes(600))
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(ExtractionError, match=r"not an Outlook \.msg: an OLE container"):
        read_msg(buffer.getvalue())


@pytest.mark.parametrize(
    "data",
    [
        b"\x00\x01garbage" * 50,
        OLE_MAGIC + b"\x00" * 40,  # a truncated OLE header
        OLE_MAGIC + bytes(2000),
    ],
)
def test_damaged_msg_is_an_extraction_error(data: bytes) -> None:
    with pytest.raises(ExtractionError):
        read_msg(data)


def test_truncated_msg_gives_what_it_can() -> None:
    data = build_msg({"subject": "minutes", "body": "b" * 5000})
    mail = read_msg(data[: len(data) // 2])
    assert mail.text.startswith("Subject: minutes\n")
    assert mail.problems  # the body was in the lost half
    with pytest.raises(ExtractionError, match="damaged Outlook"):
        read_msg(data[:1000])  # the directory is gone


@settings(max_examples=100)
@given(st.integers(min_value=1, max_value=20_000))
def test_any_cut_of_a_msg_reads_or_fails_cleanly(cut: int) -> None:
    data = build_msg({"subject": "s", "body": "text " * 900, "headers": MSG_HEADERS})
    with contextlib.suppress(ExtractionError):
        read_msg(data[: cut % len(data) + 1])


def test_empty_msg_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError, match="empty"):
        read_msg(b"")


@settings(max_examples=100)
@given(st.integers(min_value=0, max_value=20_000), st.binary(min_size=1, max_size=8))
def test_msg_with_a_damaged_byte_reads_or_fails_cleanly(where: int, junk: bytes) -> None:
    data = bytearray(build_msg({"subject": "s", "body": "text", "headers": MSG_HEADERS}))
    at = where % len(data)
    data[at : at + len(junk)] = junk
    with contextlib.suppress(ExtractionError):
        read_msg(bytes(data))


def test_msg_reading_writes_nothing_and_logs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    inner = {"subject": "inner", "body": "inner body"}
    data = build_msg(
        {
            "subject": "s",
            "body": "b",
            "attachments": [
                {"name": "a.pdf", "data": PDF_BLOB},
                {"message": inner, "display": "inner"},
            ],
        }
    )
    monkeypatch.chdir(tmp_path)
    with caplog.at_level(logging.DEBUG):
        read_msg(data)
        with pytest.raises(ExtractionError):
            read_msg(OLE_MAGIC + bytes(2000))
    assert list(tmp_path.iterdir()) == []
    assert [r for r in caplog.records if not r.name.startswith("leakscan")] == []
