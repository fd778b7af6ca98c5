"""Generate the bundled leakscan example data.

Run from anywhere::

    python examples/make_examples.py            # writes examples/archive and examples/export
    python examples/make_examples.py --out DIR  # writes DIR/archive and DIR/export

``archive/`` is a fictional case archive of classified documents (English and
Urdu; .txt, .docx and .pdf). ``export/`` is a fictional seized-laptop folder
holding copies, excerpts and edited versions of some archive documents,
innocent files on the same topics, and two broken files. ``README.md`` beside
this script says what a scan of ``export/`` against ``archive/`` should find.

Every text here is invented: the Directorate of Coastal Security, Port
Kasimabad, Zarnapur, Velmora Point and all people and vessels are fictional.

The script uses the standard library, python-docx, and Pillow and pypdfium2
(leakscan's own dependencies) for the page photo and the scanned PDF, plus
LibreOffice (``soffice --headless --convert-to pdf``) to make the PDFs. It is
deterministic (seeded randomness only; .docx files get fixed timestamps) and
idempotent: it deletes and recreates both folders. LibreOffice PDFs are not
byte-reproducible, which is expected.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

SEED = 20240611
FIXED_TIME = dt.datetime(2024, 3, 1, 9, 0, 0)
ZIP_TIME = (2024, 3, 1, 9, 0, 0)
URDU_FONT = "Noto Naskh Arabic"

# ---------------------------------------------------------------------------
# Shared boilerplate (must be ignored by leakscan)
# ---------------------------------------------------------------------------

LETTERHEAD = (
    "DIRECTORATE OF COASTAL SECURITY — SECRET — Headquarters, 14 Harbour Road, "
    "Port Kasimabad — Not for distribution outside the Directorate"
)

HANDLING_CLAUSE = (
    "This document is the property of the Directorate of Coastal Security. "
    "Unauthorised disclosure, copying or retention of its contents is an offence "
    "under Section 9 of the Official Secrets (Maritime) Ordinance and will be "
    "prosecuted."
)

URDU_LETTERHEAD = (
    "ڈائریکٹوریٹ برائے ساحلی سلامتی — خفیہ — صدر دفتر، ۱۴ ہاربر روڈ، "
    "پورٹ قاسم آباد — صرف سرکاری استعمال کے لیے"
)

URDU_HANDLING_CLAUSE = (
    "یہ دستاویز ڈائریکٹوریٹ برائے ساحلی سلامتی کی ملکیت ہے۔ اس کے مندرجات کی نقل، "
    "اشاعت یا غیر مجاز افراد تک رسائی سرکاری راز (بحری) آرڈیننس کی دفعہ ۹ کے تحت "
    "قابل سزا جرم ہے۔"
)

# ---------------------------------------------------------------------------
# English archive documents (bodies; letterhead and clause are added later)
# ---------------------------------------------------------------------------

PORT_SURVEILLANCE_BODY = """\
OPERATION ORDER 11/24 — OPERATION GREY HERON

Subject: Covert surveillance of the Old Fish Market jetty and Berth 7, Port Kasimabad

Reference: Intelligence summary DCS/INT/2291 dated 3 March; tasking note from the Deputy Director (Operations) dated 6 March.

1. Situation. Since the middle of January, source reporting and harbour traffic records have indicated that a small group operating out of the Old Fish Market jetty is moving undeclared cargo between the inner anchorage and lorries waiting on the Salt Pan Road. The cargo is believed to consist of marine diesel, cigarettes without excise stamps and, on at least two occasions, sealed crates whose contents are unknown. The group appears to rely on two wooden trawlers, the Noor-e-Sahar and the Bright Pelican, both registered at Zarnapur but rarely seen fishing.

2. The harbour police have not been informed of this operation. The jetty watchman, a retired customs sepoy named Idris Qamber, is assessed to be paid by the group and must be treated as hostile to our purpose.

3. Mission. The Coastal Surveillance Cell will establish continuous covert observation of the jetty and Berth 7 for twenty-one days from 0600 hours on 18 March, in order to identify the members of the group, their vehicles and their shore contacts, and to establish the pattern of night transfers so that an interdiction can later be planned.

4. Concept of operations. The operation will be conducted in three phases. Phase One (days one to five) will establish the observation posts and confirm the mooring routine of both vessels. Phase Two (days six to sixteen) will concentrate on the identification of persons and vehicles, with photographic logging of every transfer between 2200 and 0400 hours. Phase Three (days seventeen to twenty-one) will test the reliability of our pattern by predicting the next transfer and confirming it from a second position.

5. Observation posts. Post ALPHA will occupy the rented second-floor room above the ice factory on Wharf Lane, which gives an unobstructed view of the jetty steps and the fuel barge. Post BRAVO will be a parked delivery van on the Salt Pan Road, rotated every forty-eight hours between three vehicles from the pool, so that the same vehicle is never seen twice in one week. Post CHARLIE will be manned only during Phase Three, from the roof of the disused net store at the end of Berth 7.

6. Manning. Each post will be staffed by two officers working twelve-hour shifts, with a reserve pair held at the Kasimabad safe house to cover sickness or compromise. Inspector Farah Mirza will command the operation. Sub-Inspector Danish Rauf will act as her deputy and will be responsible for the daily log and the photographic register.

7. Communications. Posts will report on the encrypted net only at fixed times, at 0700, 1300 and 2100 hours, unless a transfer is under way. Personal mobile telephones will be left at headquarters for the duration of each shift. Code words for the operation are listed in Annex B and must not be written anywhere else.

8. Compromise. If any post believes it has been noticed, the officers will withdraw calmly, without abandoning equipment, and report on the emergency frequency. The post will not be reoccupied until the commander has reviewed the circumstances with the Deputy Director. No officer is to confront members of the group or follow a vessel onto the water under any circumstances.

9. Authority and expenditure. Authority for directed surveillance has been granted by the Director under warrant DCS/W/0413, valid until 10 April. Expenditure on rent, fuel and subsistence is capped at 380,000 rupees and will be drawn from the operational contingency fund. Receipts will be kept under the cover name of the ice factory lease rather than in the name of the Directorate.

10. Reporting. A written summary will be submitted to the Deputy Director every Monday. At the end of Phase Three the commander will prepare a target package covering persons, vessels, vehicles and timings, with a recommendation on whether the interdiction should be made at sea by the patrol boats or on land at the Salt Pan Road junction.

Annexes: A. Map of the jetty and Berth 7. B. Code words. C. Vehicle rotation table.

Haroon Baig, Deputy Director (Operations)"""

RADIO_PROCUREMENT_BODY = """\
MEMORANDUM

Subject: Procurement of handheld VHF radios for the Harbour and Creek Patrol Units

From: Assistant Director (Logistics). To: Director, through Deputy Director (Administration). Date: 22 August.

1. This memorandum seeks approval for the purchase of 240 handheld VHF radios, 30 vehicle-mounted sets and the associated chargers, batteries and spare antennas, to replace equipment issued to the Harbour Patrol Unit and the three Creek Patrol Units in 2011. The existing radios are no longer supported by their manufacturer, and the workshop reports that only 96 of the original 210 handsets remain serviceable.

2. Operational need. Patrol commanders have reported repeated loss of contact in the mangrove channels south of Zarnapur, particularly at low tide when boats are forced to use the narrower inner creeks. During the incident of 10 June a patrol boat was out of contact with the Velmora Point control room for almost forty minutes while its crew were detaining a suspect.

3. Requirement. The Technical Committee met on 4 and 11 July and agreed the following minimum specification: waterproofing to the IP67 standard, encryption compatible with the key management system already used by the Directorate, a battery life of at least sixteen hours on a standard duty cycle, a built-in GPS receiver to report position to the control room, and an emergency button which sends an alert on a priority channel.

4. Market survey. Four firms responded to the expression of interest: Marlin Tele-Systems of Port Kasimabad, Crescent Signal Works of Qadirgarh, Oceanlink Trading, and Dhalwan Electronics in a joint bid with an overseas partner. Oceanlink withdrew after the technical evaluation because its handsets could not accept our encryption modules. The joint bid was found to be incomplete, as it did not include a local repair facility.

5. Comparison. Marlin Tele-Systems quoted 61,500 rupees per handset and 184,000 rupees per vehicle set, with a three-year warranty and a repair workshop within the port area. Crescent Signal Works quoted 57,200 rupees per handset and 171,000 rupees per vehicle set, but offers only a one-year warranty and would send faulty units to Qadirgarh for repair, which the committee estimates would keep each unit out of service for about three weeks.

6. Recommendation. The committee recommends that the contract be awarded to Marlin Tele-Systems. Although its price is higher, the total cost over three years, including estimated repairs and the spare handsets that would have to be held to cover units away for repair, is lower by approximately 2.1 million rupees. The total value of the recommended contract is 20,280,000 rupees, inclusive of taxes and delivery.

7. Security considerations. The engineers of the vendor will need access to the radio workshop during installation of the vehicle sets. All engineers will be vetted by the Directorate's security branch before the contract is signed, and no engineer will be given access to the key loading equipment, which will remain under the control of the Signals Officer. Serial numbers of all handsets will be recorded against the names of the officers to whom they are issued.

8. Funding. Funds are available under the development budget head 'Communications Modernisation', which has an unspent balance of 26.5 million rupees for the current financial year. The Finance Branch has confirmed that committing the amount before 30 September will avoid the lapse of funds at the end of the quarter.

9. Delivery. The vendor has undertaken to deliver the handsets within ten weeks of signature and to complete installation of the vehicle sets within a further four weeks. The old radios will be withdrawn unit by unit, so that no patrol is left without communication during the changeover. Withdrawn handsets will be wiped and destroyed under the supervision of the Signals Officer; none are to be sold or auctioned.

10. Approval is requested for the award of the contract to Marlin Tele-Systems at the figure given in paragraph 6, and for the Assistant Director (Logistics) to sign the contract on behalf of the Directorate.

Nadia Sheikh, Assistant Director (Logistics)"""

INFORMANT_DIRECTIVE_BODY = """\
DIRECTIVE No. 4 — MANAGEMENT OF COVERT HUMAN SOURCES

Issued by the Director. Applies to all officers of the Intelligence Wing and of the Coastal Surveillance Cells.

1. Purpose. This directive sets out the rules that every officer must follow when recruiting, meeting, tasking, paying and recording covert human sources. It replaces Directive No. 2 and all local instructions issued by the regional cells. Where this directive conflicts with older guidance, this directive prevails.

2. Registration. No person may be treated as a source until he or she has been registered with the Source Unit at headquarters and given a reference number. Officers must not use the real names of sources in any report, diary, message or conversation outside the Source Unit. The true identity of each source will be recorded on a single card kept in the Source Unit safe, and access to that safe is limited to the head of the Source Unit and the Director.

3. Handlers. Every source will have one handler and one co-handler. The handler is responsible for the welfare of the source, the accuracy of the reporting and the security of each meeting. The co-handler must attend at least one meeting in every three, so that the relationship does not depend on a single officer. Handlers are to be rotated after three years, or earlier if the head of the Source Unit believes the relationship has become too personal.

4. Meetings. Meetings must be planned in advance and approved by the cell commander. They will not take place at the home of the source, at his place of work, or in any building used by the Directorate. A different location must be used for each of three consecutive meetings, and the handler must complete an anti-surveillance route of at least forty minutes before arrival. Where a source lives in a small fishing settlement such as Jalpari Goth, meetings should be arranged in Port Kasimabad on market days, when visitors from the villages attract no attention.

5. Tasking. Sources may only be tasked to report on matters within the remit of the Directorate, namely smuggling by sea, illegal landings, threats to port installations and the movement of persons across the maritime boundary. A source must never be asked to commit an offence, to take possession of contraband or to travel on a vessel that is under investigation. If a source volunteers that he has been involved in a crime, the handler will record this and inform the cell commander the same day.

6. Payments. Sources may be paid for information that proves accurate and for expenses they have reasonably incurred. Every payment must be authorised in advance by the cell commander, signed for by the source using his reference number, and witnessed by the co-handler. Payments above 50,000 rupees to one source in a single month require the approval of the Director. Handlers must never lend money to a source, accept gifts from him or his family, or enter into any business arrangement with him.

7. Grading. Every report will carry two grades. The source is graded from A (reliable) to D (not yet tested), and the information from 1 (confirmed by another independent source) to 4 (cannot be judged). Grades must be reviewed every six months, and a source who has produced no graded report for a year will be considered for closure.

8. Vulnerable persons. No person under eighteen years of age may be recruited as a source. Persons known to suffer from addiction or serious illness may be recruited only with the written approval of the Director and with a welfare plan agreed with the Source Unit.

9. Compromise. If there is any sign that the role of a source has become known, such as threats, unusual questions from associates, or sudden exclusion from a boat crew, the handler must report it at once. The cell commander will decide whether to suspend contact, relocate the source or, in serious cases, arrange protection with the assistance of the police. The safety of the source takes priority over the value of the information.

10. Records. Contact notes must be written within twenty-four hours of each meeting and filed only in the Source Unit system. Personal notebooks, private telephones and home computers must never be used to record anything about a source. The Source Unit will audit the records of each cell every quarter.

11. Breaches. Any breach of this directive will be treated as a disciplinary matter and may also amount to a criminal offence.

Tariq Lodhi, Director"""

CREEK_INCIDENT_BODY = """\
INCIDENT ASSESSMENT

Subject: Interception of an unlit boat at Zarnapur Creek on the night of 9-10 June

Prepared by the Analysis Section, Intelligence Wing. Distribution: Director; Deputy Director (Operations); Commander, Creek Patrol Unit 2.

Summary. At about 0130 hours on 10 June, patrol boat CP-14 of Creek Patrol Unit 2 intercepted an unlit fibreglass boat near the mouth of Zarnapur Creek, approximately four nautical miles east of the Velmora Point light. Two of the boat's crew abandoned it in shallow water and escaped into the mangroves. A third man, who gave his name as Yaqub Dashti, was detained. The boat was carrying eleven jerrycans of petrol, a satellite navigation unit and a sealed package of documents, which has been sent to the laboratory. One officer was slightly injured when the patrol boat grounded during the pursuit.

Sequence of events. CP-14 left the Zarnapur jetty at 2300 hours on a routine patrol with a crew of four under Sub-Inspector Kamran Ali. At 0105 hours the crew saw a low wake without navigation lights moving from the open sea towards the creek mouth. The patrol boat closed with its searchlight off and illuminated the vessel at a range of about eighty metres. The unlit boat turned sharply into the shallows, where CP-14 grounded on a mud bank while trying to follow. Two men jumped from the unlit boat and waded ashore. The third remained on board and did not resist when the patrol crew reached him on foot.

Loss of communications. The patrol commander tried to report the interception to the Velmora Point control room at 0112 hours but received no reply. Contact was not re-established until 0151 hours, when the boat had been refloated and moved back into the main channel. During this period the commander had no means of requesting support from the second boat, CP-09, which was on patrol only six nautical miles away. This is the third recorded instance this year of contact being lost in the inner creeks.

Statement of the detained man. Dashti stated that he is a fisherman from Jalpari Goth and that he had been paid 15,000 rupees to "sit in the boat and hold the torch." He claimed not to know the other two men, whom he described only as "people from the other side." He said they had met a larger vessel some twenty miles out and taken the jerrycans and the package from it. His account of the time at which the boat left the shore is not consistent with the state of the tide, and the Section assesses that he is minimising his role.

Assessment. The Analysis Section assesses that the boat was part of an organised transfer from a mother vessel in international waters, and that the fuel was a cover load for the package, which was the real purpose of the trip. The choice of Zarnapur Creek, the timing close to low water and the absence of lights all suggest detailed local knowledge of our patrol pattern. It is likely, though not confirmed, that the organisers received warning of CP-14's departure from the jetty. The Section notes that the patrol timetable for Unit 2 has not been changed since February.

Conduct of the patrol. The decision to follow the vessel into the shallows was understandable, but it exposed the patrol boat to grounding and left the crew unable to pursue the two men who escaped. The Section does not consider that any officer acted improperly. The injured officer, Constable Waqas Rind, suffered a sprained wrist and has returned to duty.

Recommendations. (a) The patrol timetables of all Creek Patrol Units should be varied weekly and issued no more than twenty-four hours in advance. (b) The procurement of new radios with better coverage in the creeks should be treated as urgent. (c) Crews should be reminded not to pursue vessels into water shallower than the patrol boat's draught, and to use the searchlight to record a vessel rather than to chase it. (d) The Source Unit should be asked whether any source in Jalpari Goth can report on the recruitment of local fishermen for such trips. (e) The package of documents should be examined urgently and the results shared with the Intelligence Wing before any further interview of the detained man.

Analysis Section, Intelligence Wing, 14 June"""

RADAR_GAP_BODY = """\
TECHNICAL REPORT

Subject: Coverage gap of the Velmora Point coastal radar

Prepared by the Signals and Sensors Branch, 2 November.

1. Background. The coastal radar station at Velmora Point was commissioned to provide continuous surface coverage of the approaches to Port Kasimabad and of the creek system east of Zarnapur. Since the replacement of the antenna gearbox in August, operators have reported that small craft are regularly lost from the display for several minutes when they pass behind the headland south of the lighthouse.

2. Trials. Between 12 and 19 October the Branch carried out trials using patrol boat CP-09 and a hired fibreglass boat of the type commonly used by fishermen. The boats followed fixed tracks at eight and twenty knots, by day and by night, while their true positions were logged by satellite receivers. The radar plots were then compared with the logged tracks.

3. Findings. The fibreglass boat was not detected for continuous periods of up to nine minutes in a sector between bearings 142 and 158 degrees, at ranges of three to seven nautical miles. This sector covers the mouth of Zarnapur Creek and the southern part of Dhalwan Creek. The larger patrol boat was detected throughout, except during heavy rain on the night of 17 October. The gap is caused partly by the shadow of the headland and partly by the antenna now sitting forty centimetres lower than designed, because the new gearbox housing is taller than the old one.

4. Implications. A vessel with local knowledge could cross the gap unobserved by approaching along the shore from the south and entering Zarnapur Creek at night. The Branch notes that the interception of 10 June took place inside this sector, and that the boat involved was first seen by the patrol crew and not by the radar.

5. Options. Three options have been considered. The first is to raise the antenna by adding a steel extension to the mast, at an estimated cost of 4.6 million rupees, with the radar out of service for about ten days. The second is to install a small gap-filler radar on the roof of the Zarnapur jetty office, at about 9 million rupees, which would also improve coverage of the inner creeks. The third is to accept the gap and compensate with additional night patrols, which the Operations Branch estimates would need one extra boat crew.

6. Recommendation. The Branch recommends the first option as an immediate measure, to be carried out during the calm season in January, and further study of the second option for the next financial year. Until the work is complete, the control room should treat any contact that fades in the affected sector as suspicious and direct the nearest patrol to investigate.

Signals and Sensors Branch"""

# ---------------------------------------------------------------------------
# Urdu archive documents (bodies; Urdu letterhead and clause are added later)
# ---------------------------------------------------------------------------

BOAT_REGISTRATION_BODY_UR = """\
موضوع: ماہی گیر کشتیوں کی ازسرنو رجسٹریشن اور شناختی نشانات

۱۔ گزشتہ چھ ماہ کے دوران زرناپور، جل پری گوٹھ اور ڈھلوان کریک کے علاقوں میں ایسی کئی کشتیاں دیکھی گئی ہیں جن پر یا تو رجسٹریشن نمبر موجود نہیں تھا یا ایک ہی نمبر دو مختلف کشتیوں پر لکھا ہوا تھا۔ گشتی عملے کی رپورٹوں کے مطابق کم از کم اٹھارہ کشتیاں ایسی ہیں جو کاغذات میں ماہی گیری کے لیے درج ہیں مگر انہیں کبھی جال ڈالتے نہیں دیکھا گیا۔ اس صورت حال سے غیر قانونی سامان کی ترسیل میں ملوث گروہوں کو فائدہ پہنچ رہا ہے۔

۲۔ اس لیے ڈائریکٹر نے حکم دیا ہے کہ یکم اکتوبر سے تمام ماہی گیر کشتیوں کی ازسرنو رجسٹریشن کی جائے۔ یہ کام محکمہ ماہی پروری کے ساتھ مل کر کیا جائے گا، تاہم شناختی نشانات کی تصدیق اور ریکارڈ کی حفاظت ڈائریکٹوریٹ کی ذمہ داری ہوگی۔ ہر ضلعی سیل اپنے علاقے کی جیٹیوں پر رجسٹریشن کیمپ لگائے گا اور کیمپ کی تاریخوں کا اعلان کم از کم ایک ہفتہ پہلے مساجد اور ماہی گیر انجمنوں کے ذریعے کیا جائے گا۔

۳۔ ہر کشتی کے دونوں جانب اور عرشے کی چھت پر نیا رجسٹریشن نمبر سفید رنگ میں کم از کم تیس سینٹی میٹر اونچے حروف میں لکھا جائے گا تاکہ اسے ساحلی کیمروں اور فضا سے بھی پڑھا جا سکے۔ ہر کشتی کو ایک دھاتی پلیٹ بھی دی جائے گی جس پر نمبر کندہ ہوگا اور جو انجن کے قریب ویلڈ کی جائے گی۔ پلیٹ کو ہٹانا یا اس میں ردوبدل کرنا جرم تصور ہوگا۔

۴۔ رجسٹریشن کے وقت کشتی کے مالک، ناخدا اور عملے کے تمام ارکان کے شناختی کارڈ کی نقول، کشتی کی لمبائی، انجن کا نمبر اور طاقت، اور جالوں کی قسم درج کی جائے گی۔ ہر کشتی کی چار تصاویر لی جائیں گی، ایک ہر سمت سے۔ جن کشتیوں کے انجن کا نمبر مٹا ہوا یا تبدیل شدہ پایا جائے، انہیں رجسٹر نہیں کیا جائے گا اور ان کی اطلاع فوری طور پر انٹیلی جنس ونگ کو دی جائے گی۔

۵۔ ماہی گیر انجمنوں کی طرف سے یہ خدشہ ظاہر کیا گیا ہے کہ رجسٹریشن کے دوران کشتیاں کئی دن تک سمندر میں نہیں جا سکیں گی اور غریب خاندانوں کی روزی متاثر ہوگی۔ اس لیے کیمپ صبح چھ بجے سے رات نو بجے تک کھلے رہیں گے اور کسی کشتی کو ایک دن سے زیادہ نہیں روکا جائے گا۔ رجسٹریشن مفت ہوگی اور کسی اہلکار کو کسی بھی صورت میں نقد رقم وصول کرنے کی اجازت نہیں ہوگی۔

۶۔ تیس نومبر کے بعد جو کشتی نئے نمبر کے بغیر پائی جائے گی اسے قریبی جیٹی پر لا کر روک لیا جائے گا، اور اس کے مالک کے خلاف ماہی گیری آرڈیننس کے تحت کارروائی کی سفارش کی جائے گی۔ بار بار خلاف ورزی کی صورت میں کشتی کا لائسنس منسوخ کرنے کی سفارش بھی کی جا سکتی ہے۔

۷۔ رجسٹریشن کا مکمل ریکارڈ صدر دفتر کے ڈیٹا سیکشن میں رکھا جائے گا اور اس تک رسائی صرف مجاز افسران کو ہوگی۔ ضلعی سیل ہر ہفتے اپنی پیش رفت کی رپورٹ ڈپٹی ڈائریکٹر آپریشنز کو بھیجیں گے۔ کسی بھی مشکل کی صورت میں سب انسپکٹر شازیہ نورانی سے رابطہ کیا جائے۔

عمران سلطان، ڈپٹی ڈائریکٹر (آپریشنز)"""

NIGHT_PATROL_BODY_UR = """\
موضوع: بندرگاہ میں رات کے گشت کے نئے احکامات

۱۔ حالیہ ہفتوں میں اندرونی لنگر گاہ اور پرانی مچھلی منڈی کی جیٹی کے آس پاس رات کے وقت مشکوک سرگرمیوں کی متعدد اطلاعات موصول ہوئی ہیں۔ ان اطلاعات کی روشنی میں ہاربر پٹرول یونٹ کے رات کے گشت کا نظام پندرہ تاریخ سے تبدیل کیا جا رہا ہے۔ یہ احکامات فوری طور پر نافذ العمل ہوں گے اور پچھلے تمام زبانی احکامات منسوخ سمجھے جائیں گے۔

۲۔ رات کا گشت شام آٹھ بجے سے صبح چھ بجے تک تین حصوں میں ہوگا۔ ہر حصے میں دو گشتی کشتیاں بندرگاہ کے اندر اور ایک کشتی بیرونی لنگر گاہ میں رہے گی۔ کشتیوں کے راستے ہر رات تبدیل کیے جائیں گے اور راستوں کی فہرست صرف ڈیوٹی افسر کے پاس ہوگی، جو اسے روانگی سے آدھا گھنٹہ پہلے ناخدا کے حوالے کرے گا۔

۳۔ کوئی بھی گشتی کشتی ایک جگہ پندرہ منٹ سے زیادہ نہیں رکے گی، سوائے اس کے کہ کسی مشکوک کشتی کی تلاشی لی جا رہی ہو۔ تلاشی کے دوران کم از کم دو اہلکار گشتی کشتی پر موجود رہیں گے اور کنٹرول روم کو ہر دس منٹ بعد صورت حال سے آگاہ کریں گے۔ اگر مشکوک کشتی کا عملہ مزاحمت کرے تو اہلکار طاقت کے استعمال سے پہلے کنٹرول روم سے ہدایت لیں گے۔

۴۔ بغیر روشنی کے چلنے والی ہر کشتی کو روکا جائے گا اور اس کے عملے کے شناختی کارڈ دیکھے جائیں گے۔ ماہی گیر کشتیوں کو غیر ضروری طور پر تنگ نہ کیا جائے، تاہم اگر کسی کشتی پر مچھلی کے بجائے ڈرم، کارٹن یا بند پیکٹ نظر آئیں تو اسے جیٹی پر لا کر اس کی مکمل تلاشی لی جائے گی۔ ہر تلاشی کا اندراج لاگ بک میں کیا جائے گا جس میں وقت، مقام، کشتی کا نمبر اور برآمد شدہ سامان کی تفصیل درج ہوگی۔

۵۔ گشت کے دوران ذاتی موبائل فون کا استعمال سختی سے منع ہے۔ تمام رابطے صرف سرکاری ریڈیو پر ہوں گے اور کوڈ الفاظ وہی استعمال ہوں گے جو ہفتہ وار فہرست میں دیے گئے ہیں۔ کسی اہلکار کو کسی غیر متعلقہ شخص کو گشت کے اوقات یا راستوں کے بارے میں بتانے کی اجازت نہیں۔ اس ہدایت کی خلاف ورزی پر سخت تادیبی کارروائی ہوگی۔

۶۔ ہر رات کے اختتام پر ڈیوٹی افسر ایک مختصر رپورٹ تیار کرے گا جس میں روکی گئی کشتیوں کی تعداد، کی گئی تلاشیوں کی تفصیل اور کسی بھی غیر معمولی واقعے کا ذکر ہوگا۔ یہ رپورٹ صبح آٹھ بجے تک ڈپٹی ڈائریکٹر آپریشنز کے دفتر میں پہنچ جانی چاہیے۔ انسپکٹر فرح مرزا ان احکامات پر عمل درآمد کی نگرانی کریں گی۔

۷۔ تمام یونٹ کمانڈر اس بات کو یقینی بنائیں کہ ان احکامات کو ہر اہلکار نے پڑھ لیا ہے اور اس کے دستخط حاضری رجسٹر میں موجود ہیں۔

ہارون بیگ، ڈپٹی ڈائریکٹر (آپریشنز)"""

JETTY_PASSES_BODY_UR = """\
موضوع: جیٹیوں اور گودیوں میں داخلے کے اجازت ناموں کا نیا نظام

۱۔ پورٹ قاسم آباد کی جیٹیوں اور گودیوں میں داخلے کے لیے اب تک کاغذی اجازت نامے استعمال ہوتے رہے ہیں جن کی نقل بنانا آسان ہے۔ حالیہ معائنے میں معلوم ہوا کہ برتھ نمبر سات پر کام کرنے والے مزدوروں میں سے تقریباً ایک تہائی کے پاس یا تو پرانے اجازت نامے تھے یا ایسے اجازت نامے جو کسی اور کے نام پر جاری ہوئے تھے۔

۲۔ اس مسئلے کے حل کے لیے یکم جنوری سے تصویر والے پلاسٹک کارڈ جاری کیے جائیں گے جن میں ایک الیکٹرانک چپ نصب ہوگی۔ ہر کارڈ پر حامل کا نام، تصویر، کارڈ نمبر اور وہ علاقے درج ہوں گے جہاں اسے داخلے کی اجازت ہے۔ کارڈ کی مدت ایک سال ہوگی اور اس کی تجدید کے لیے پولیس کی تصدیق دوبارہ کرانی ہوگی۔

۳۔ بندرگاہ کو تین حصوں میں تقسیم کیا گیا ہے۔ سبز علاقے میں عام مزدور، ٹرک ڈرائیور اور دکاندار داخل ہو سکیں گے۔ پیلے علاقے میں، جس میں ایندھن کا بجرا اور کولڈ اسٹوریج شامل ہیں، صرف متعلقہ کمپنیوں کے ملازمین جا سکیں گے۔ سرخ علاقے میں، جہاں گشتی کشتیاں کھڑی ہوتی ہیں اور اسلحہ خانہ واقع ہے، صرف ڈائریکٹوریٹ کے اہلکاروں اور خصوصی اجازت رکھنے والے افراد کو داخلے کی اجازت ہوگی۔

۴۔ ہر داخلی دروازے پر کارڈ ریڈر نصب کیا جائے گا اور ہر داخلے اور اخراج کا وقت خودکار طریقے سے محفوظ ہوگا۔ رات دس بجے سے صبح پانچ بجے تک سبز علاقے کے دروازے بند رہیں گے، سوائے ان دنوں کے جب کسی جہاز سے مال اتارا جا رہا ہو۔ ایسے دنوں میں شپنگ ایجنٹ کو کم از کم بارہ گھنٹے پہلے کنٹرول روم کو مطلع کرنا ہوگا۔

۵۔ گم شدہ یا چوری شدہ کارڈ کی اطلاع چوبیس گھنٹے کے اندر دینا لازمی ہوگا اور ایسا کارڈ فوری طور پر بلاک کر دیا جائے گا۔ جو شخص کسی دوسرے کا کارڈ استعمال کرتا ہوا پایا جائے، اس کا اپنا کارڈ بھی منسوخ کر دیا جائے گا اور اس کے خلاف مقدمہ درج کرایا جائے گا۔

۶۔ کارڈ بنانے کا کام ایک نجی کمپنی کو دیا گیا ہے، لیکن کارڈ رکھنے والے افراد کا ذاتی ڈیٹا صرف ڈائریکٹوریٹ کے سرور پر رکھا جائے گا۔ کمپنی کے ملازمین کو ڈیٹا کی کاپی اپنے پاس رکھنے کی اجازت نہیں ہوگی اور ان کا تمام کام سیکیورٹی برانچ کی نگرانی میں ہوگا۔

۷۔ نئے نظام پر عمل درآمد کی ذمہ داری اسسٹنٹ ڈائریکٹر (لاجسٹکس) نادیہ شیخ کی ہوگی۔ پہلے مرحلے میں برتھ نمبر سات اور پرانی مچھلی منڈی کی جیٹی کو شامل کیا جائے گا، جبکہ باقی بندرگاہ میں یہ نظام مارچ تک مکمل کر دیا جائے گا۔

طارق لودھی، ڈائریکٹر"""

# ---------------------------------------------------------------------------
# Innocent texts for the export (share vocabulary, not sentences)
# ---------------------------------------------------------------------------

NEWS_ARTICLE = """\
THE KASIMABAD HERALD

Fishermen welcome new patrol boats but want fewer checks at night

By our Staff Reporter

PORT KASIMABAD: Fishing families along the eastern shore have given a mixed reception to the new coastal patrol boats that began working out of Zarnapur this month. Several boat owners at the jetty said on Tuesday that the patrols had made the creeks safer after a string of thefts of outboard engines, but complained that crews coming home before dawn are now stopped two or three times in one night.

"We have nothing to hide, but every stop costs us an hour and the ice melts," said Ghulam Nabi, who has fished from Jalpari Goth for thirty years. He said the catch had to reach the auction hall in the city before six in the morning, or the price fell by half.

A spokesman for the coastal security authorities declined to discuss patrol routines, saying only that officers had been asked to treat fishermen with courtesy and that the checks were aimed at smugglers rather than working crews. He added that a scheme to repaint identification numbers on fishing boats would be announced soon and would cost owners nothing.

Traders near the fish market said diesel smuggling had fallen since the spring, though cheap cigarettes were still easy to find in the lanes behind the harbour. A local councillor, Mrs Rukhsana Jamali, called on the authorities to hold an open meeting in Zarnapur so that residents could raise their concerns in person.

The new boats, built at a yard in Qadirgarh, carry powerful searchlights and modern radios. Crews say the radios still struggle among the mangroves, where the signal often drops when the water is low.

Meanwhile, the port trust said work on the new cold storage building near Berth 7 was running two months behind schedule because of a shortage of steel."""

RADIO_BROCHURE = """\
MARLIN TELE-SYSTEMS
Harbour Works, Plot 22, Kasimabad Industrial Estate

TS-H7 Marine Handheld Radio — built for the water, made for the job

The TS-H7 is a rugged VHF handheld designed for harbour masters, fishing fleets, port operators and patrol crews. Drop it on the deck, leave it in the rain, take it into the creeks: the TS-H7 keeps talking.

Key features:
- Fully submersible to one metre for thirty minutes (IP67)
- Up to 18 hours of use from one charge with the high-capacity battery
- Built-in GPS with position sharing to base stations
- One-touch distress key with a loud local alarm
- Accepts optional encryption modules for government and security customers
- Bright colour display, readable in direct sunlight
- Floats face-up if dropped overboard

In the box: radio, 2600 mAh battery, belt clip, wrist strap, desktop charger, flexible antenna, and a user guide in English and Urdu.

Vehicle and vessel installations: ask about the TS-M40 mobile set for patrol vehicles and boats, with a 25-watt transmitter and a remote speaker microphone.

Service you can rely on: every Marlin radio comes with a full three-year warranty, plus our own service centre at Harbour Works, where most repairs are completed in five working days. Fleet customers receive a free replacement battery in the second year.

For quotations and demonstrations, visit our showroom, open Monday to Saturday from 9 am to 6 pm."""

URDU_NEWS = """\
روزنامہ ساحل نامہ، پورٹ قاسم آباد

بندرگاہ پر نیا کولڈ اسٹوریج، ماہی گیروں کو بہتر قیمت کی امید

پورٹ قاسم آباد (نامہ نگار) بندرگاہ کی انتظامیہ نے اعلان کیا ہے کہ برتھ نمبر سات کے قریب زیر تعمیر کولڈ اسٹوریج آئندہ برس گرمیوں سے پہلے کام شروع کر دے گا۔ مقامی ماہی گیروں کا کہنا ہے کہ برف کی کمی کی وجہ سے انہیں اکثر اپنی مچھلی صبح سویرے کم داموں پر بیچنی پڑتی ہے، اور نئی عمارت سے یہ مسئلہ کافی حد تک حل ہو جائے گا۔ جل پری گوٹھ کی ماہی گیر انجمن کے صدر حاجی رمضان جمالی نے بتایا کہ سمندر میں گشت بڑھنے سے انجن چوری کے واقعات کم ہوئے ہیں، لیکن رات گئے لوٹنے والی کشتیوں کو بار بار روکے جانے کی شکایات اب بھی عام ہیں۔ انہوں نے مطالبہ کیا کہ حکام ماہی گیروں کے نمائندوں سے باقاعدہ ملاقات کریں اور نئے کارڈ بنوانے کا طریقہ آسان بنائیں۔ دوسری جانب مچھلی بازار کے تاجروں نے بندرگاہ کی ٹوٹی پھوٹی سڑکوں پر تشویش ظاہر کی ہے اور کہا ہے کہ بارش کے دنوں میں ٹرکوں کا گزرنا مشکل ہو جاتا ہے۔"""

SPORTS_DAY_NOTICE = f"""\
{LETTERHEAD}

Staff Welfare Committee — Circular No. 3

Subject: Annual staff sports day and family picnic

The Staff Welfare Committee is pleased to announce that this year's sports day will be held on the cricket ground behind the Harbour Road colony on the last Friday of the month. Events will include a six-a-side cricket tournament between branches, a tug of war, sack races for children and a cooking competition for families. Each branch is asked to nominate a team captain by the fifteenth.

Families are welcome from ten in the morning. Lunch will be provided, and the committee would be grateful for volunteers to help with the tea stall, first aid and the children's games. Anyone who wishes to donate prizes should contact the committee secretary, Mr Asif Qureshi, in room 12 of the administration block.

Buses from the Zarnapur and Velmora Point stations will leave at half past eight and return at five. Please bring hats and water; last year two spectators needed treatment for sunstroke.

Secretary, Staff Welfare Committee

{HANDLING_CLAUSE}"""

COUSIN_LETTER_BEFORE = """\
Dear Sana,

I hope you and little Ayaan are well and that the new house in Qadirgarh has finally stopped leaking. Ammi says you have planted tomatoes on the roof. You must send photographs, because nobody here believes it.

Life in the city is busy. The new job keeps me at the office late most days and the traffic is worse than ever, but the sea breeze in the evenings makes up for it. On Fridays I walk down to the waterfront with Faisal and we eat fried pomfret at the little stall by the old lighthouse steps.

You asked what sort of thing I read all day. Honestly most of it is dull, but this week I had to go through rules like the one below, which I copied for you because it made me laugh that anyone needs to write it down:"""

COUSIN_LETTER_AFTER = """\
Don't show this to Khala, she will think I have become a spy!

The wedding preparations are going well. Baji has chosen the hall near the clock tower, and the dholki will be at our house on the Thursday before. Please come a few days early if you can, because Ammi wants help with the sweets and nobody makes gajar ka halwa like you.

Also, could you ask Uncle Javed whether he still has his old telescope? Ayaan would love it, and I know someone who can fix the cracked lens.

Faisal finally passed his driving test on the third attempt. He drove Ammi to the bazaar on Sunday and she held the door handle the whole way, reciting every prayer she knows. Dadi's knee is much better since the physiotherapy, and she now walks to the neighbours' house every evening to complain about the cricket.

Write soon, and give my love to everyone.

Your cousin,

Bilal"""

# ---------------------------------------------------------------------------
# Edits that turn the radio memo into a "draft" with ~10% of words changed
# ---------------------------------------------------------------------------

RADIO_MEMO_EDITS: list[tuple[str, str]] = [
    ("Date: 22 August", "Date: 24 August"),
    ("purchase of 240 handheld", "purchase of 250 handheld"),
    ("radios, 30 vehicle-mounted", "radios, 32 vehicle-mounted"),
    ("Creek Patrol Units in 2011", "Creek Patrol Units in 2012"),
    ("supported by their manufacturer", "supported by the maker"),
    (
        "only 96 of the original 210 handsets remain serviceable",
        "only 90 of the original 210 handsets are still usable",
    ),
    ("have reported repeated loss", "have complained of frequent loss"),
    ("particularly at low tide", "especially at low water"),
    ("use the narrower inner creeks", "use the narrow inner channels"),
    ("for almost forty minutes", "for nearly forty minutes"),
    (
        "met on 4 and 11 July and agreed the following minimum specification",
        "met on 5 and 12 July and settled on the following minimum requirements",
    ),
    ("at least sixteen hours", "at least eighteen hours"),
    ("which sends an alert on", "which raises an alarm on"),
    ("Four firms responded to", "Four companies replied to"),
    ("Oceanlink withdrew after", "Oceanlink pulled out after"),
    ("was found to be incomplete", "was judged incomplete"),
    ("quoted 61,500 rupees per handset", "quoted 62,000 rupees per handset"),
    ("for about three weeks", "for roughly a month"),
    ("Although its price is higher", "Even though its price is higher"),
    ("by approximately 2.1 million rupees", "by around 2 million rupees"),
    ("is 20,280,000 rupees", "is 21,388,000 rupees"),
    ("will be vetted by", "will be cleared by"),
    ("balance of 26.5 million rupees", "balance of 27 million rupees"),
    ("before 30 September", "before 15 September"),
    ("within ten weeks of signature", "within twelve weeks of signing"),
    ("within a further four weeks", "within another five weeks"),
    (
        "The old radios will be withdrawn unit by unit",
        "The old sets will be taken back one at a time",
    ),
    ("none are to be sold", "none may be sold"),
    # A reordered sentence: the serial-number rule moves to the front of paragraph 7.
    (
        (
            "7. Security considerations. The engineers of the vendor will need access "
            "to the radio workshop during installation of the vehicle sets. All engineers "
            "will be cleared by the Directorate's security branch before the contract is "
            "signed, and no engineer will be given access to the key loading equipment, "
            "which will remain under the control of the Signals Officer. Serial numbers "
            "of all handsets will be recorded against the names of the officers to whom "
            "they are issued."
        ),
        (
            "7. Security considerations. Serial numbers of all handsets will be recorded "
            "against the names of the officers to whom they are issued. The engineers of "
            "the vendor will need access to the radio workshop during installation of the "
            "vehicle sets. All engineers will be cleared by the Directorate's security "
            "branch before the contract is signed, and no engineer will be given access "
            "to the key loading equipment, which will remain under the control of the "
            "Signals Officer."
        ),
    ),
]

# ---------------------------------------------------------------------------
# Keyboard/encoding variations for the Urdu copy
# ---------------------------------------------------------------------------

# Compound words written differently: joined, split, or with a zero-width non-joiner.
ZWNJ = "\u200c"
URDU_COMPOUND_VARIANTS: list[tuple[str, str]] = [
    ("ماہی گیر", "ماہیگیر"),
    ("نافذ العمل", "نافذالعمل"),
    ("لنگر گاہ", "لنگرگاہ"),
    ("صورت حال", "صورتحال"),
    ("غیر ضروری", "غیرضروری"),
    ("برآمد شدہ", "برآمدشدہ"),
    ("عمل درآمد", "عملدرآمد"),
    ("غیر متعلقہ", "غیر" + ZWNJ + "متعلقہ"),
    ("لاگ بک", "لاگ" + ZWNJ + "بک"),
    ("کنٹرول روم", "کنٹرول" + ZWNJ + "روم"),
    ("ہفتہ وار", "ہفتہ" + ZWNJ + "وار"),
    ("بندرگاہ", "بندر گاہ"),
]

# Urdu letters replaced by the Arabic letters an Arabic keyboard produces.
URDU_TO_ARABIC_LETTERS = str.maketrans(
    {
        "\u06cc": "\u064a",  # ی → ي
        "\u06a9": "\u0643",  # ک → ك
        "\u06c1": "\u0647",  # ہ → ه
        **{chr(0x06F0 + d): chr(0x0660 + d) for d in range(10)},  # ۱ → ١
    }
)
TATWEEL = "\u0640"
DIACRITICS = ("\u064e", "\u0650", "\u064f", "\u0651")  # zabar, zer, pesh, shadda
# Letters that do not join to the following letter: no tatweel after them.
NON_JOINING = set("اآأدڈذرڑزژوۓےءؤ")


# ---------------------------------------------------------------------------
# Text assembly
# ---------------------------------------------------------------------------


def english_document(body: str) -> str:
    """Wrap an English body in the shared letterhead and handling clause."""
    return f"{LETTERHEAD}\n\n{body}\n\n{HANDLING_CLAUSE}"


def urdu_document(body: str) -> str:
    """Wrap an Urdu body in the shared Urdu letterhead and handling clause."""
    return f"{URDU_LETTERHEAD}\n\n{body}\n\n{URDU_HANDLING_CLAUSE}"


def check_urdu(text: str) -> None:
    """Fail if archive Urdu text contains Arabic yeh, kaf or heh instead of Urdu ones."""
    bad = sorted({c for c in text if c in "\u064a\u0643\u0647\u0649\u0629"})
    if bad:
        raise ValueError(f"Arabic letters in Urdu text: {[hex(ord(c)) for c in bad]}")


def paragraph_starting(text: str, prefix: str) -> str:
    """Return the unique paragraph of ``text`` that starts with ``prefix``."""
    found = [p for p in text.split("\n\n") if p.startswith(prefix)]
    if len(found) != 1:
        raise ValueError(f"expected one paragraph starting {prefix!r}, found {len(found)}")
    return found[0]


def apply_edits(text: str, edits: list[tuple[str, str]]) -> str:
    """Apply (old, new) replacements in order; each ``old`` must occur exactly once."""
    for old, new in edits:
        if text.count(old) != 1:
            raise ValueError(f"edit target not found exactly once: {old[:60]!r}")
        text = text.replace(old, new)
    return text


def curly_quotes(text: str) -> str:
    """Replace straight quotes by typographic ones, as a word processor would."""
    out = []
    open_double = True
    for i, ch in enumerate(text):
        if ch == '"':
            out.append("\u201c" if open_double else "\u201d")
            open_double = not open_double
        elif ch == "'":
            prev = text[i - 1] if i else " "
            out.append("\u2018" if prev.isspace() or prev in "([" else "\u2019")
        else:
            out.append(ch)
    return "".join(out)


def hyphenation_point(word: str, limit: int) -> int:
    """Return the last plausible hyphenation point of ``word`` at or before ``limit``.

    A crude syllable rule: break before a consonant-vowel pair that follows a
    vowel (``docu-ments``) or between two consonants between vowels
    (``surveil-lance``), keeping at least three letters on each side. Returns
    0 if there is no such point.
    """
    if not word.isalpha():
        return 0
    vowel = [c in "aeiouyAEIOUY" for c in word]
    for i in range(min(limit, len(word) - 3), 2, -1):
        if vowel[i] or not vowel[i + 1]:
            continue
        if vowel[i - 1] or (not vowel[i - 1] and vowel[i - 2]):
            return i
    return 0


def rewrap(text: str, width: int = 60, hyphenate_every: int = 1) -> str:
    """Re-wrap each paragraph at ``width`` columns, as an email client or editor might.

    Sentence ends are followed by two spaces. Every ``hyphenate_every``-th long
    word (9+ letters) that does not fit at a line end is split with a hyphen
    ("surveil-" / "lance") instead of moving whole to the next line.
    """
    candidates = 0
    wrapped_paragraphs = []
    for paragraph in text.split("\n\n"):
        lines: list[str] = []
        line = ""
        for word in paragraph.split():
            sep = "" if not line else ("  " if line[-1] in ".?!\u201d" else " ")
            if len(line) + len(sep) + len(word) <= width:
                line += sep + word
                continue
            room = width - len(line) - len(sep) - 1  # -1 for the hyphen
            cut = hyphenation_point(word, room) if line and len(word) >= 9 else 0
            if cut:
                candidates += 1
                if candidates % hyphenate_every == 0:
                    lines.append(line + sep + word[:cut] + "-")
                    line = word[cut:]
                    continue
            if line:
                lines.append(line)
            line = word
        if line:
            lines.append(line)
        wrapped_paragraphs.append("\n".join(lines))
    return "\n\n".join(wrapped_paragraphs) + "\n"


def arabic_keyboard_variant(text: str, seed: int = SEED) -> str:
    """Return Urdu ``text`` as typed on an Arabic keyboard with some decoration.

    Compound words are joined, split or given a ZWNJ; ی ک ہ and Urdu digits
    become their Arabic counterparts; a few words get a tatweel (kashida) and a
    few letters get a diacritic. Randomness is seeded.
    """
    for old, new in URDU_COMPOUND_VARIANTS:
        if old not in text:
            raise ValueError(f"compound not in text: {old!r}")
        text = text.replace(old, new)
    rng = random.Random(seed)
    words = text.split(" ")
    letter_positions = [
        i
        for i, w in enumerate(words)
        if len(w) >= 3 and w[0].isalpha() and "\u0620" <= w[0] <= "\u06ff"
    ]
    for i in rng.sample(letter_positions, 12):  # tatweels
        w = words[i]
        if w[0] not in NON_JOINING and w[1].isalpha():
            words[i] = w[0] + TATWEEL + w[1:]
    for i in rng.sample(letter_positions, 14):  # diacritics
        w = words[i]
        pos = rng.randrange(1, len(w))
        if w[pos - 1].isalpha() and w[pos - 1] != TATWEEL:
            words[i] = w[:pos] + rng.choice(DIACRITICS) + w[pos:]
    text = " ".join(words)
    return text.translate(URDU_TO_ARABIC_LETTERS)


# ---------------------------------------------------------------------------
# File writers
# ---------------------------------------------------------------------------


def write_text(path: Path, text: str) -> None:
    """Write UTF-8 text with LF line ends and a final newline."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not text.endswith("\n"):
        text += "\n"
    path.write_bytes(text.encode("utf-8"))


def normalise_zip(path: Path) -> None:
    """Rewrite a zip (docx) with fixed timestamps so the bytes are reproducible."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)


def _make_rtl(paragraph) -> None:
    """Mark a python-docx paragraph and its runs as right-to-left Urdu."""
    p_pr = paragraph._p.get_or_add_pPr()
    p_pr.insert(0, OxmlElement("w:bidi"))
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for run in paragraph.runs:
        r_pr = run._r.get_or_add_rPr()
        r_pr.append(OxmlElement("w:rtl"))


def write_docx(path: Path, text: str, *, author: str, urdu: bool = False) -> None:
    """Write ``text`` as a .docx, one Word paragraph per "\\n\\n"-separated paragraph.

    The first paragraph (the letterhead, for archive documents) is bold. Urdu
    documents are right-to-left and use an Arabic-script font.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = Document()
    props = doc.core_properties
    props.author = author
    props.last_modified_by = author
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1
    normal = doc.styles["Normal"]
    normal.font.size = Pt(12 if urdu else 11)
    if urdu:
        r_fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:cs"):
            r_fonts.set(qn(attr), URDU_FONT)
        size_cs = OxmlElement("w:szCs")
        size_cs.set(qn("w:val"), "28")
        normal.element.get_or_add_rPr().append(size_cs)
    for i, para in enumerate(text.strip("\n").split("\n\n")):
        paragraph = doc.add_paragraph()
        run = paragraph.add_run(para)
        run.bold = i == 0
        if urdu:
            _make_rtl(paragraph)
    doc.save(str(path))
    normalise_zip(path)


def find_soffice(wait_seconds: float) -> str:
    """Return the soffice executable, polling up to ``wait_seconds`` for an install."""
    deadline = time.monotonic() + wait_seconds
    while True:
        exe = shutil.which("soffice") or (
            "/usr/bin/soffice" if Path("/usr/bin/soffice").exists() else None
        )
        if exe:
            return exe
        if time.monotonic() >= deadline:
            raise SystemExit("soffice (LibreOffice) not found; install libreoffice-writer")
        print("waiting for soffice to be installed ...", file=sys.stderr)
        time.sleep(10)


def convert_to_pdf(soffice: str, sources: list[Path], workdir: Path) -> list[Path]:
    """Convert .docx/.txt files to PDF with LibreOffice; return the PDF paths.

    Plain text is imported explicitly as UTF-8 (LibreOffice would otherwise
    guess the encoding), so .txt and .docx files are converted in separate runs.
    """
    profile = workdir / "lo-profile"
    outdir = workdir / "pdf"
    outdir.mkdir(parents=True, exist_ok=True)
    base = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless"]
    txt_filter = "--infilter=Text (encoded):UTF8,LF,Liberation Serif,en-US"
    batches = [
        ([*base, txt_filter], [s for s in sources if s.suffix == ".txt"]),
        (base, [s for s in sources if s.suffix != ".txt"]),
    ]
    for options, files in batches:
        if files:
            subprocess.run(
                [
                    *options,
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(outdir),
                    *map(str, files),
                ],
                check=True,
                capture_output=True,
                timeout=600,
            )
    pdfs = [outdir / (src.stem + ".pdf") for src in sources]
    missing = [p.name for p in pdfs if not p.exists()]
    if missing:
        raise RuntimeError(f"LibreOffice did not produce: {missing}")
    return pdfs


# ---------------------------------------------------------------------------
# Folder builders
# ---------------------------------------------------------------------------

ARCHIVE_AUTHOR = "DCS Registry"


def build_archive(archive: Path, soffice: str, workdir: Path) -> dict[str, str]:
    """Write the case archive; return {relative path: text} of every document."""
    texts = {
        "ops/port-surveillance-plan.pdf": english_document(PORT_SURVEILLANCE_BODY),
        "ops/velmora-point-radar-gap-report.pdf": english_document(RADAR_GAP_BODY),
        "procurement/radio-procurement-memo.docx": english_document(RADIO_PROCUREMENT_BODY),
        "sources/informant-handling-directive.txt": english_document(INFORMANT_DIRECTIVE_BODY),
        "incidents/zarnapur-creek-incident-assessment.docx": english_document(CREEK_INCIDENT_BODY),
        "urdu/boat-registration-memo.txt": urdu_document(BOAT_REGISTRATION_BODY_UR),
        "urdu/harbour-night-patrol-orders.docx": urdu_document(NIGHT_PATROL_BODY_UR),
        "urdu/jetty-access-passes.pdf": urdu_document(JETTY_PASSES_BODY_UR),
    }
    for rel, text in texts.items():
        if rel.startswith("urdu/"):
            check_urdu(text)

    # PDFs: the surveillance plan and the Urdu memo go through .docx, the radar
    # report through plain .txt, so both LibreOffice import paths are exercised.
    tmp_src = workdir / "src"
    pdf_sources = {
        "ops/port-surveillance-plan.pdf": tmp_src / "port-surveillance-plan.docx",
        "ops/velmora-point-radar-gap-report.pdf": tmp_src / "radar-gap-report.txt",
        "urdu/jetty-access-passes.pdf": tmp_src / "jetty-access-passes.docx",
    }
    for rel, src in pdf_sources.items():
        if src.suffix == ".docx":
            write_docx(src, texts[rel], author=ARCHIVE_AUTHOR, urdu=rel.startswith("urdu/"))
        else:
            write_text(src, texts[rel])
    pdfs = convert_to_pdf(soffice, list(pdf_sources.values()), workdir)

    for (rel, _src), pdf in zip(pdf_sources.items(), pdfs, strict=True):
        (archive / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pdf, archive / rel)
    for rel, text in texts.items():
        if rel.endswith(".txt"):
            write_text(archive / rel, text)
        elif rel.endswith(".docx"):
            write_docx(archive / rel, text, author=ARCHIVE_AUTHOR, urdu=rel.startswith("urdu/"))
    return texts


def build_export(export: Path, archive: Path, texts: dict[str, str]) -> None:
    """Write the seized-laptop export folder from the archive and its texts."""
    docs = export / "Documents"
    downloads = export / "Downloads"
    desktop = export / "Desktop"
    for folder in (docs, downloads, desktop):
        folder.mkdir(parents=True, exist_ok=True)

    # 1. Exact byte copy under an innocent name.
    shutil.copyfile(archive / "ops/port-surveillance-plan.pdf", downloads / "scan_0042.pdf")

    # 2. Reformatted copy: a .docx document retyped as re-wrapped plain text.
    incident = texts["incidents/zarnapur-creek-incident-assessment.docx"]
    write_text(docs / "creek_notes.txt", rewrap(curly_quotes(incident)))

    # 3. Pasted excerpt: one paragraph of the directive inside a personal letter.
    excerpt = paragraph_starting(texts["sources/informant-handling-directive.txt"], "5. Tasking.")
    n_words = len(excerpt.split())
    if not 60 <= n_words <= 90:
        raise ValueError(f"excerpt has {n_words} words, want 60-90")
    letter = f"{COUSIN_LETTER_BEFORE}\n\n{excerpt}\n\n{COUSIN_LETTER_AFTER}"
    write_docx(docs / "letter_to_sana.docx", letter, author="bilal")

    # 4. Edited copy: the radio memo with ~10% of words changed and a sentence moved.
    radio = texts["procurement/radio-procurement-memo.docx"]
    write_text(docs / "radio_budget_draft.txt", apply_edits(radio, RADIO_MEMO_EDITS))

    # 5. Urdu copy typed on an Arabic keyboard.
    patrol = texts["urdu/harbour-night-patrol-orders.docx"]
    write_text(docs / "gasht_hidayat.txt", arabic_keyboard_variant(patrol))

    # 6. Innocent files on the same topics, and a letter with only the boilerplate.
    write_text(docs / "kasimabad_herald_article.txt", NEWS_ARTICLE)
    write_text(downloads / "marlin_ts-h7_brochure.txt", RADIO_BROCHURE)
    write_text(docs / "akhbar_bandargah.txt", URDU_NEWS)
    write_docx(desktop / "sports_day_notice.docx", SPORTS_DAY_NOTICE, author="DCS Welfare")

    # 7. Files that cannot be read as documents.
    (desktop / "notes.bin").write_bytes(random.Random(SEED).randbytes(2048))
    pdf_head = (archive / "ops/velmora-point-radar-gap-report.pdf").read_bytes()[:300]
    (downloads / "broken.pdf").write_bytes(pdf_head)

    # 8. A WhatsApp export (zip) with a pasted paragraph and an attached classified PDF.
    build_whatsapp_export(export, archive, texts)

    # 9. The same phone's file-system extraction: WhatsApp's own databases, and media.
    build_phone_extraction(export, archive, texts)

    # 10. Pictures of pages: a phone photo of a page, and a scanned PDF with no text layer.
    build_scans(export, archive)


WHATSAPP_CONTACT = "Imran Qureshi"
WHATSAPP_ATTACHMENT = "Velmora radar note.pdf"
WHATSAPP_DROPPED = "jetty-access-passes.pdf"


def whatsapp_chat(texts: dict[str, str]) -> str:
    """The text WhatsApp for Android writes for a chat (day-first dates, 24-hour clock).

    Bilal pastes paragraph 4 of the informant directive into one message, and
    sends paragraph 3 of the Urdu boat-registration memo in two consecutive
    messages. He also sends the radar report as a PDF under another name (the
    file is in the export) and a file named like the Urdu jetty-passes PDF,
    which the export left out.
    """
    meetings = paragraph_starting(texts["sources/informant-handling-directive.txt"], "4. Meetings.")
    boats = paragraph_starting(texts["urdu/boat-registration-memo.txt"], "۳۔")
    words = boats.split(" ")
    half = len(words) // 2
    boats_first, boats_second = " ".join(words[:half]), " ".join(words[half:])
    me, other = "Bilal", WHATSAPP_CONTACT
    lines = [
        ("05/03/2024, 21:02", None, "Messages in this chat are protected end to end by the app."),
        ("05/03/2024, 21:02", other, "Salaam bhai, are you still at the office?"),
        ("05/03/2024, 21:04", me, "Just leaving. Long day, the new boss wants everything twice."),
        (
            "05/03/2024, 21:05",
            other,
            "Did you find what we talked about on Sunday?\nThe thing about how they meet people.",
        ),
        ("05/03/2024, 21:09", me, meetings),
        ("05/03/2024, 21:11", other, "Perfect. And the radar thing?"),
        ("05/03/2024, 21:13", me, f"{WHATSAPP_ATTACHMENT} (file attached)\n{WHATSAPP_ATTACHMENT}"),
        ("05/03/2024, 21:14", me, "Page 2 has the blind sector. Delete after reading."),
        ("05/03/2024, 21:20", other, "Got it. What about the boats?"),
        ("05/03/2024, 21:26", me, boats_first),
        ("05/03/2024, 21:26", me, boats_second),
        ("05/03/2024, 21:31", me, f"{WHATSAPP_DROPPED} (file attached)"),
        ("05/03/2024, 21:33", other, "<Media omitted>"),
        ("05/03/2024, 21:40", other, "Shukriya. Khuda hafiz, see you at the wedding on Friday."),
    ]
    out = []
    for stamp, sender, text in lines:
        out.append(f"{stamp} - {text}" if sender is None else f"{stamp} - {sender}: {text}")
    return "\n".join(out) + "\n"


def build_whatsapp_export(export: Path, archive: Path, texts: dict[str, str]) -> Path:
    """Write ``Phone/WhatsApp Chat with …zip`` as WhatsApp for Android exports a chat with media.

    The zip holds the chat text and the one attachment the phone still had;
    the jetty-passes file is named in the chat but missing, as in a real
    export whose media were deleted from the phone.
    """
    phone = export / "Phone"
    phone.mkdir(parents=True, exist_ok=True)
    title = f"WhatsApp Chat with {WHATSAPP_CONTACT}"
    path = phone / f"{title}.zip"
    members = {
        f"{title}.txt": whatsapp_chat(texts).encode("utf-8"),
        WHATSAPP_ATTACHMENT: (archive / "ops/velmora-point-radar-gap-report.pdf").read_bytes(),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name, data in members.items():
            zipped.writestr(zipfile.ZipInfo(name, date_time=ZIP_TIME), data)
    return path


EXTRACTION = "Phone/extraction"
EXTRACTION_DATABASES = "data/data/com.whatsapp/databases"
EXTRACTION_MEDIA = "sdcard/Android/media/com.whatsapp/WhatsApp"
EXTRACTION_PDF = "Media/WhatsApp Documents/DOC-20240306-WA0004.pdf"


def build_phone_extraction(export: Path, archive: Path, texts: dict[str, str]) -> Path:
    """Write ``Phone/extraction/``: a file-system dump of the phone, as forensic tools copy it.

    WhatsApp's ``msgstore.db`` (and ``wa.db``, naming the contacts) lie in the
    app's private storage; the documents it received lie on shared storage,
    named as WhatsApp names them. One message pastes a paragraph of the
    informant directive; the jetty-passes PDF the text export dropped is still
    on the phone, sent the next day. The databases use the apps' real schemas
    (``tests/phone_factories.py`` writes them).
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.phone_factories import PhoneMessage, write_msgstore, write_wa_db

    root = export / EXTRACTION
    if root.exists():
        shutil.rmtree(root)
    imran, bilal = "+923001234567", "+923007654321"
    day = dt.datetime(2024, 3, 6, 19, 2, 0, tzinfo=dt.UTC)
    payments = paragraph_starting(texts["sources/informant-handling-directive.txt"], "6. Payments.")
    messages = [
        PhoneMessage(imran, day, "Salaam. Did you find the rules on payments?", sender=imran),
        PhoneMessage(imran, day.replace(minute=5), payments, sender=None),
        PhoneMessage(imran, day.replace(minute=6), "Delete this after reading.", sender=None),
        PhoneMessage(
            imran,
            day.replace(minute=9),
            None,
            sender=None,
            media=EXTRACTION_PDF,
            media_name="jetty-access-passes.pdf",
            pages=2,
        ),
        PhoneMessage(imran, day.replace(minute=30), "Mil gaya, shukriya.", sender=imran),
    ]
    databases = root / EXTRACTION_DATABASES
    write_msgstore(databases / "msgstore.db", messages)
    write_wa_db(databases / "wa.db", {imran: WHATSAPP_CONTACT, bilal: "Bilal"})
    document = root / EXTRACTION_MEDIA / EXTRACTION_PDF
    document.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(archive / "urdu/jetty-access-passes.pdf", document)
    return root


CAMERA_PHOTO = "Phone/Camera/IMG_20240309_181522.jpg"
SCANNED_PDF = "Downloads/scan_jetty_passes.pdf"


def _render_pdf_pages(pdf: Path, dpi: int):
    """The pages of a PDF as greyscale pictures (pdfium), as a scanner or a camera sees paper."""
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(str(pdf))
    try:
        pages = []
        for page in document:
            pages.append(page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
            page.close()
        return pages
    finally:
        document.close()


def build_scans(export: Path, archive: Path) -> list[Path]:
    """Write a phone photo of a page and an image-only scanned PDF, both read only by OCR.

    ``Phone/Camera/IMG_20240309_181522.jpg``: page 1 of the radar report
    photographed at an angle, under a lamp to one side, a little blurred, and
    saved as a JPEG. ``Downloads/scan_jetty_passes.pdf``: the Urdu jetty-passes
    memo printed and scanned crooked (1.5°) with scanner noise, as pictures in
    a PDF with no text layer. The degradations are ``tests/ocr_factories.py``'s
    (real image operations, seeded).
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests import ocr_factories as degrade

    written = []
    radar = _render_pdf_pages(archive / "ops/velmora-point-radar-gap-report.pdf", 150)
    photo = degrade.phone_photo(radar[0], seed=SEED)
    path = export / CAMERA_PHOTO
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(degrade.jpeg_bytes(photo, 70))
    written.append(path)

    passes = _render_pdf_pages(archive / "urdu/jetty-access-passes.pdf", 150)
    scanned = [
        degrade.noise(degrade.rotate(page, 1.5 if n % 2 == 0 else -1.0), 4.0, seed=SEED + n)
        for n, page in enumerate(passes)
    ]
    path = export / SCANNED_PDF
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = FIXED_TIME.timetuple()
    rgb = [page.convert("RGB") for page in scanned]
    rgb[0].save(
        path,
        "PDF",
        save_all=True,
        append_images=rgb[1:],
        resolution=150.0,
        quality=50,
        creationDate=stamp,
        modDate=stamp,
    )
    written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Delete and regenerate ``archive/`` and ``export/`` under the output folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="folder to write archive/ and export/ into (default: this script's folder)",
    )
    parser.add_argument(
        "--wait-soffice",
        type=float,
        default=600,
        help="seconds to wait for LibreOffice to appear (default: 600)",
    )
    parser.add_argument(
        "--only-extraction",
        action="store_true",
        help="only (re)write export/Phone/extraction from the existing archive/",
    )
    parser.add_argument(
        "--only-scans",
        action="store_true",
        help=f"only (re)write the page photo ({CAMERA_PHOTO}) and the scanned PDF "
        f"({SCANNED_PDF}) in export/ from the existing archive/",
    )
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    if args.only_scans:
        for path in build_scans(out / "export", out / "archive"):
            print(f"{path.relative_to(out)}  ({path.stat().st_size} bytes)")
        return 0
    if args.only_extraction:
        archive = out / "archive"
        texts = {
            "sources/informant-handling-directive.txt": (
                archive / "sources/informant-handling-directive.txt"
            ).read_text(encoding="utf-8")
        }
        build_phone_extraction(out / "export", archive, texts)
        return 0
    archive, export = out / "archive", out / "export"
    soffice = find_soffice(args.wait_soffice)
    for folder in (archive, export):
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)

    with tempfile.TemporaryDirectory(prefix="leakscan-examples-") as tmp:
        texts = build_archive(archive, soffice, Path(tmp))
    build_export(export, archive, texts)

    for folder in (archive, export):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            print(f"{path.relative_to(out)}  ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
