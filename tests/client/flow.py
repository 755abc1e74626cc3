"""The advisor's and the customer's booking flows, and a whole day of one repair
order (every role of the demo dealer), through a client generated from the
committed openapi.json (openapi-python-client), with no hand edits.

Run by .ci/generated-client against a development server (demo data).
Exits non-zero on the first step that does not go as the contract says.
"""

import datetime
import decimal
import glob
import io
import json
import os
import sys
import time
import struct
import uuid
import zlib

from sl_client import AuthenticatedClient, Client
from sl_client.api.appointments import (
    change_appointment_state,
    create_appointment,
    get_appointment_history,
    list_appointment_slots,
)
from sl_client.api.auth import get_me, login, request_otp, verify_otp
from sl_client.api.repair_orders import (
    accept_estimate,
    add_repair_order_job,
    add_repair_order_photo,
    approve_extra_work,
    clock_off_repair_order_job,
    clock_on_repair_order_job,
    create_estimate,
    create_payment,
    decline_extra_work,
    deliver_repair_order,
    dispatch_repair_order_job,
    get_health_checklist,
    get_invoice,
    get_repair_order,
    get_repair_order_photo,
    get_repair_order_timeline,
    list_repair_order_photos,
    open_repair_order,
    propose_extra_work,
    put_health_check,
    put_walkaround,
    record_qc,
    stream_repair_order_events,
    wash_done,
)
from sl_client.api.workshop import get_workshop_board, list_my_jobs, list_technicians, put_user_skills
from sl_client.api.customers import list_customer_vehicles, list_customers
from sl_client.models import (
    Acceptance,
    Approval,
    ApprovalChannel,
    ClockOff,
    ClockOffInput,
    DeliverInput,
    DispatchInput,
    EventKind,
    ExtraWork,
    ExtraWorkAnswer,
    ExtraWorkLine,
    HealthCheckInput,
    HealthItem,
    PaymentInput,
    PaymentMethod,
    PhotoPurpose,
    PhotoUpload,
    Priority,
    QcInput,
    QcItem,
    QcLevel,
    Rating,
    RepairJobState,
    Skill,
    SkillsInput,
    AppointmentState,
    NewJob,
    NewRepairOrder,
    OrderState,
    Signature,
    SignatureKind,
    WalkaroundInput,
    WalkItem,
    WalkStatus,
    LoginRequest,
    NewAppointment,
    OtpRequest,
    OtpVerify,
    PartInput,
    Problem,
    Reason,
    StateAction,
)
from sl_client.types import File

BASE = sys.argv[1]
OUTBOX = sys.argv[2]


def staff(username):
    """An authenticated client for one of the demo dealer's users."""
    t = login.sync(client=Client(base_url=BASE), body=LoginRequest(dealer_code="DEMO", username=username, password="servicelane"))
    check(t is not None and not isinstance(t, Problem), f"{username} logs in")
    return AuthenticatedClient(base_url=BASE, token=t.access_token)


def png(width=2, height=2):
    """A small, valid PNG image."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\x80\x20\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def ok(res, status, what):
    check(res.status_code == status and not isinstance(res.parsed, Problem) and res.parsed is not None,
          what, f"(got {res.status_code}: {res.content[:400]!r})")
    return res.parsed


def job_of(order, job_id):
    return next(j for j in order.jobs if j.id == job_id)


def check(cond, what, detail=""):
    if not cond:
        print(f"FAILED: {what} {detail}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def free_slot(client, skip=()):
    day = datetime.date.today()
    for _ in range(30):
        day += datetime.timedelta(days=1)
        slots = list_appointment_slots.sync(client=client, date=day)
        check(isinstance(slots, list), f"slots of {day} parse")
        for s in slots:
            if s.available and s.start not in skip:
                return s.start
    check(False, "a free slot within 30 days")


def book(client, vehicle_id, slot, **extra):
    body = NewAppointment(slot_start=slot, vehicle_id=vehicle_id, concern="异响 noise when braking", **extra)
    key = str(uuid.uuid4())
    res = create_appointment.sync_detailed(client=client, body=body, idempotency_key=key)
    check(res.status_code == 201, "booking answers 201", f"(got {res.status_code}: {res.content[:300]!r})")
    replay = create_appointment.sync_detailed(client=client, body=body, idempotency_key=key)
    check(replay.status_code == 201 and replay.parsed.id == res.parsed.id, "a retry with the same key replays the booking")
    return res.parsed


def act(client, appointment, action, expect):
    res = change_appointment_state.sync_detailed(
        id=appointment.id, action=action, client=client, body=Reason(reason="generated client")
    )
    check(res.status_code == 200, f"{action.value} answers 200", f"(got {res.status_code}: {res.content[:300]!r})")
    check(res.parsed.state == expect, f"{action.value} leaves the appointment {expect.value}")
    return res.parsed


# the advisor's flow
anon = Client(base_url=BASE)
tokens = login.sync(client=anon, body=LoginRequest(dealer_code="DEMO", username="advisor", password="servicelane"))
check(tokens is not None and not isinstance(tokens, Problem), "advisor logs in")
advisor = AuthenticatedClient(base_url=BASE, token=tokens.access_token)
me = get_me.sync(client=advisor)
check(me.kind.value == "staff", "GET /me parses, kind staff")

page = list_customers.sync(client=advisor, limit=5)
check(len(page.items) >= 2, "the customer list parses")
first, second = page.items[0], page.items[1]
v1 = list_customer_vehicles.sync(id=first.id, client=advisor)[0]
v2 = list_customer_vehicles.sync(id=second.id, client=advisor)[0]

slot = free_slot(advisor)
a = book(advisor, v1.id, slot, customer_id=first.id, advisor_id=me.id)
check(a.state == AppointmentState.BOOKED, "the booking is booked")
a = act(advisor, a, StateAction.CONFIRM, AppointmentState.CONFIRMED)
a = act(advisor, a, StateAction.CHECK_IN, AppointmentState.CHECKED_IN)
again = change_appointment_state.sync_detailed(id=a.id, action=StateAction.CANCEL, client=advisor)
check(again.status_code == 409 and isinstance(again.parsed, Problem), "cancelling a checked-in booking is a 409 problem")

# the checked-in car becomes a repair order: walk-around, a job, estimate, signature
key = str(uuid.uuid4())
body = NewRepairOrder(appointment_id=a.id, concerns=["刹车异响 brake noise"])
res = open_repair_order.sync_detailed(client=advisor, body=body, idempotency_key=key)
check(res.status_code == 201, "the order is opened", f"(got {res.status_code}: {res.content[:300]!r})")
ro = res.parsed
check(ro.number.startswith("RO") and ro.state == OrderState.OPEN, "the order has its number and is open")
replay = open_repair_order.sync_detailed(client=advisor, body=body, idempotency_key=key)
check(replay.status_code == 201 and replay.parsed.id == ro.id, "a retried open answers the same order")
walk = put_walkaround.sync_detailed(id=ro.id, client=advisor, body=WalkaroundInput(
    items=[WalkItem(code="BODY_PANELS", status=WalkStatus.DAMAGE, note="scratch")], protection_fitted=True))
check(walk.status_code == 200, "the walk-around is recorded", f"(got {walk.status_code}: {walk.content[:300]!r})")
job = add_repair_order_job.sync_detailed(id=ro.id, client=advisor, body=NewJob(description="更换刹车片 brake pads", labour_hours="1.5",
    parts=[PartInput(part_number="4G0698151", name="前刹车片 front pads", quantity="1", unit_price="420.00")]))
check(job.status_code == 201 and len(job.parsed.jobs) == len(ro.jobs) + 1, "a job is added", f"(got {job.status_code}: {job.content[:300]!r})")
est = create_estimate.sync_detailed(id=ro.id, client=advisor)
check(est.status_code == 201 and len(est.parsed.sha256) == 64, "the estimate is frozen with its hash")
check(est.parsed.content.lines[-1].parts[0].unit_price_cents == 42000, "the estimate's parts parse")
acc = accept_estimate.sync_detailed(id=ro.id, client=advisor, body=Acceptance(
    version=est.parsed.version, signature=Signature(kind=SignatureKind.TYPED, name="王小明")))
check(acc.status_code == 200 and acc.parsed.accepted_at is not None, "the estimate is signed")
ro = get_repair_order.sync(id=ro.id, client=advisor)
check(ro.state == OrderState.ESTIMATE_ACCEPTED, "the order's estimate is accepted")
timeline = get_repair_order_timeline.sync(id=ro.id, client=advisor)
check([e.seq for e in timeline] == list(range(1, len(timeline) + 1)), "the timeline parses, in order")

# the rest of the order's day, as each post of the demo dealer does it
foreman, technician, qc, cashier = staff("foreman"), staff("technician"), staff("qc"), staff("cashier")
tech_me = get_me.sync(client=technician)
sk = put_user_skills.sync_detailed(id=tech_me.id, client=foreman, body=SkillsInput(
    skills=[Skill.MECHANICAL, Skill.ELECTRICAL, Skill.BODY_PAINT]))
check(set(ok(sk, 200, "the foreman sets the technician's skills").skills) == {Skill.MECHANICAL, Skill.ELECTRICAL, Skill.BODY_PAINT},
      "the skills are kept")
techs = list_technicians.sync(client=foreman)
check(any(t.id == tech_me.id and Skill.MECHANICAL in t.skills for t in techs), "the technicians list parses, with the skills")
board = ok(get_workshop_board.sync_detailed(client=foreman), 200, "the workshop board parses")
waiting = {w.job_id for w in board.waiting}
check({j.id for j in ro.jobs} <= waiting, "the board has the order's jobs waiting", f"{waiting}")


def dispatch(job_id, by=foreman, priority=Priority.NORMAL):
    res = dispatch_repair_order_job.sync_detailed(id=ro.id, job_id=job_id, client=by,
                                                  body=DispatchInput(technician_id=tech_me.id, priority=priority))
    order = ok(res, 200, f"job {job_id} is dispatched")
    check(job_of(order, job_id).technician_id == tech_me.id, "to the technician")
    return order


def clock(job_id, reason):
    on = ok(clock_on_repair_order_job.sync_detailed(id=ro.id, job_id=job_id, client=technician), 200, "clocked on")
    check(job_of(on, job_id).state == RepairJobState.IN_PROGRESS and on.state == OrderState.IN_WORK, "the job is in progress")
    off = ok(clock_off_repair_order_job.sync_detailed(id=ro.id, job_id=job_id, client=technician,
                                                      body=ClockOffInput(reason=reason, note="前刹车片磨损 worn pads")), 200, f"clocked off ({reason.value})")
    expect = RepairJobState.DONE if reason == ClockOff.DONE else RepairJobState.PAUSED
    check(job_of(off, job_id).state == expect, f"the job is {expect.value}")
    return off


for i, j in enumerate(ro.jobs):
    ro = dispatch(j.id, priority=Priority.HIGH if i == 0 else Priority.NORMAL)
mine = list_my_jobs.sync(client=technician)
check({m.job_id for m in mine} == {j.id for j in ro.jobs} and mine[0].order_id == ro.id, "the technician's list parses")
first_job = ro.jobs[0].id
clock(first_job, ClockOff.PAUSE)

# a photo of a worn part, read back; the health check with a red item
image = png()
up = add_repair_order_photo.sync_detailed(id=ro.id, client=technician, idempotency_key=str(uuid.uuid4()), body=PhotoUpload(
    file=File(payload=io.BytesIO(image), file_name="pads.png", mime_type="image/png"),
    purpose=PhotoPurpose.HEALTH_CHECK))
photo = ok(up, 201, "a photo is uploaded (multipart)")
check(photo.content_type == "image/png" and photo.bytes_ == len(image), "the photo is told a PNG, with its size")
back = get_repair_order_photo.sync_detailed(id=ro.id, photo_id=photo.id, client=advisor)
check(back.status_code == 200 and isinstance(back.parsed, File) and back.parsed.payload.read() == image,
      "the photo reads back byte for byte", f"(got {back.status_code})")
check(back.headers.get("content-type") == "image/png", "served as image/png", back.headers.get("content-type"))
photos = list_repair_order_photos.sync(id=ro.id, client=advisor)
check(any(p.id == photo.id for p in photos), "the photo list parses")
checklist = get_health_checklist.sync(client=technician).items
check(len(checklist) >= 2, "the health checklist parses")
red, green = checklist[0], checklist[1]
hc = put_health_check.sync_detailed(id=ro.id, client=technician, body=HealthCheckInput(items=[
    HealthItem(code=red.code, rating=Rating.RED, measurement="2", unit=red.unit, note="需更换 replace", photo_ids=[photo.id]),
    HealthItem(code=green.code, rating=Rating.GREEN)]))
hc = ok(hc, 200, "the health check is recorded")
check(len(hc.proposed_lines) == 1, "the red item is proposed as a line")
clock(first_job, ClockOff.DONE)
for j in ro.jobs[1:]:
    clock(j.id, ClockOff.DONE)

# extra work: two lines; the advisor records the customer's phone answers
ew = propose_extra_work.sync_detailed(id=ro.id, client=advisor, idempotency_key=str(uuid.uuid4()), body=ExtraWork(lines=[
    ExtraWorkLine(description="更换雨刮片 wiper blades", labour_hours="0.3", health_item_code=red.code),
    ExtraWorkLine(description="更换空调滤清器 cabin filter", labour_hours="0.5")]))
ro = ok(ew, 201, "extra work is proposed")
lines = [j for j in ro.jobs if j.approval == Approval.AWAITING]
check(len(lines) == 2, "two lines await an answer")
yes = approve_extra_work.sync_detailed(id=ro.id, line_id=lines[0].id, client=advisor,
                                       body=ExtraWorkAnswer(by=ApprovalChannel.PHONE, note="客户电话同意 agreed on the phone"))
ro = ok(yes, 200, "the advisor records a phone approval")
check(job_of(ro, lines[0].id).approval == Approval.APPROVED and job_of(ro, lines[0].id).approval_channel == ApprovalChannel.PHONE,
      "the line is approved by phone")
no = decline_extra_work.sync_detailed(id=ro.id, line_id=lines[1].id, client=advisor,
                                      body=ExtraWorkAnswer(by=ApprovalChannel.PHONE, note="下次再做 next time"))
ro = ok(no, 200, "the advisor records a phone decline")
check(job_of(ro, lines[1].id).approval == Approval.DECLINED, "the other line is declined")
extra = lines[0].id
ro = dispatch(extra, by=advisor)
ro = clock(extra, ClockOff.DONE)


# three-level QC: the final inspection fails, the job is reworked, then all pass
def qc_level(client, level, passed, rework=()):
    body = QcInput(level=level, passed=passed, rework_job_ids=list(rework),
                   checklist=[QcItem(code="BRAKES", ok=passed, note="" if passed else "踏板偏软 soft pedal"),
                              QcItem(code="ROAD_TEST", ok=True)])
    return ok(record_qc.sync_detailed(id=ro.id, client=client, body=body), 200, f"QC {level.value} {'passes' if passed else 'fails'}")


ro = qc_level(technician, QcLevel.SELF, True)
check(ro.state == OrderState.QC, "the order is in QC")
ro = qc_level(foreman, QcLevel.FOREMAN, True)
ro = qc_level(qc, QcLevel.FINAL, False, [first_job])
check(ro.state == OrderState.IN_WORK and ro.qc_reworks == 1 and job_of(ro, first_job).state == RepairJobState.REWORK,
      "the failed job goes back to rework")
ro = clock(first_job, ClockOff.DONE)
for client, level in [(technician, QcLevel.SELF), (foreman, QcLevel.FOREMAN), (qc, QcLevel.FINAL)]:
    ro = qc_level(client, level, True)
ro = ok(wash_done.sync_detailed(id=ro.id, client=foreman), 200, "the car is washed")
check(ro.state == OrderState.READY and ro.washed_at is not None, "the order is ready")

# the invoice, two partial payments around the handover, closed
inv = ok(get_invoice.sync_detailed(id=ro.id, client=cashier), 200, "the invoice parses")
estimates = 1
if inv.needs_customer_approval:
    # the extra work took the bill more than 10% over the estimate: the car is held
    held = deliver_repair_order.sync_detailed(id=ro.id, client=advisor, body=DeliverInput(explained=True))
    check(held.status_code == 409 and isinstance(held.parsed, Problem), "delivery waits for a new estimate (409 problem)")
    est = ok(create_estimate.sync_detailed(id=ro.id, client=advisor), 201, "a new estimate is made")
    acc = accept_estimate.sync_detailed(id=ro.id, client=advisor, body=Acceptance(
        version=est.version, signature=Signature(kind=SignatureKind.TYPED, name="王小明")))
    ok(acc, 200, "the customer signs the new estimate on the tablet")
    estimates = 2
    inv = ok(get_invoice.sync_detailed(id=ro.id, client=cashier), 200, "the invoice parses again")
check(not inv.needs_customer_approval, "no new approval is needed")
owed = decimal.Decimal(inv.balance)
check(owed > 0 and len(inv.lines) >= 2, "something is owed, line by line", f"{inv.balance}")
half = (owed / 2).quantize(decimal.Decimal("0.01"))
p1 = ok(create_payment.sync_detailed(id=ro.id, client=cashier, idempotency_key=str(uuid.uuid4()),
                                     body=PaymentInput(method=PaymentMethod.WECHAT, amount=str(half))), 201, "a first payment")
check(decimal.Decimal(p1.balance) == owed - half, "the balance goes down")
ro = ok(deliver_repair_order.sync_detailed(id=ro.id, client=advisor, body=DeliverInput(explained=True)), 200, "the car is delivered")
check(ro.state == OrderState.DELIVERED and ro.delivered_at is not None, "the order is delivered")
p2 = ok(create_payment.sync_detailed(id=ro.id, client=cashier, idempotency_key=str(uuid.uuid4()),
                                     body=PaymentInput(method=PaymentMethod.CASH, amount=p1.balance)), 201, "the second payment")
check(decimal.Decimal(p2.balance) == 0 and p2.order_state == OrderState.CLOSED, "paid in full, the order closes")
ro = get_repair_order.sync(id=ro.id, client=advisor)
check(ro.state == OrderState.CLOSED and ro.closed_at is not None, "the order is closed")
check(list_my_jobs.sync(client=technician) == [], "nothing left for the technician")
timeline = get_repair_order_timeline.sync(id=ro.id, client=advisor)
check([e.seq for e in timeline] == list(range(1, len(timeline) + 1)), "the whole timeline parses, in order")
count = lambda k: sum(1 for e in timeline if e.kind == k)
steps = {EventKind.OPENED: 1, EventKind.WALKAROUND_RECORDED: 1, EventKind.ESTIMATE_CREATED: estimates,
         EventKind.ESTIMATE_ACCEPTED: estimates, EventKind.JOB_DISPATCHED: len(ro.jobs) - 1,
         EventKind.PHOTO_ADDED: 1, EventKind.HEALTH_CHECK_RECORDED: 1, EventKind.EXTRA_WORK_PROPOSED: 2,  # one per line
         EventKind.EXTRA_WORK_APPROVED: 1, EventKind.EXTRA_WORK_DECLINED: 1, EventKind.QC_RECORDED: 6,
         EventKind.WASHED: 1, EventKind.PAYMENT_RECEIVED: 2, EventKind.DELIVERED: 1}
for kind, n in steps.items():
    check(count(kind) == n, f"the timeline has {n} × {kind.value}", f"(got {count(kind)})")
check(count(EventKind.CLOCKED_ON) == count(EventKind.CLOCKED_OFF) == len(ro.jobs) - 1 + 2, "every clock-on has its clock-off")
moves = [e.to_state for e in timeline if e.kind == EventKind.STATE_CHANGED]
check(moves == [OrderState.ESTIMATE_ACCEPTED, OrderState.IN_WORK, OrderState.QC, OrderState.IN_WORK, OrderState.QC,
                OrderState.READY, OrderState.DELIVERED, OrderState.CLOSED], "the state moves are all there", f"{moves}")
stream = stream_repair_order_events.sync_detailed(id=ro.id, client=advisor)
check(stream.status_code == 200 and isinstance(stream.parsed, str), "the closed order's event stream ends, read as text",
      f"(got {stream.status_code}: {type(stream.parsed)})")
ids = [int(line[4:]) for line in stream.parsed.splitlines() if line.startswith("id: ")]
check(ids == [e.seq for e in timeline], "the stream carries every event of the timeline, in order")
half_way = timeline[len(timeline) // 2].seq
rest = stream_repair_order_events.sync_detailed(id=ro.id, client=advisor, last_event_id=half_way)
ids = [int(line[4:]) for line in rest.parsed.splitlines() if line.startswith("id: ")]
check(ids == [e.seq for e in timeline if e.seq > half_way], "Last-Event-ID resumes the stream after that event")

b = book(advisor, v2.id, free_slot(advisor), customer_id=second.id)
b = act(advisor, b, StateAction.CANCEL, AppointmentState.CANCELLED)
history = get_appointment_history.sync(id=b.id, client=advisor)
check([e.to_state for e in history] == [AppointmentState.BOOKED, AppointmentState.CANCELLED], "the history parses")

# the customer's flow: a code by SMS (to the outbox folder), then a booking of their own
phone = first.phone
res = request_otp.sync_detailed(client=anon, body=OtpRequest(dealer_code="DEMO", phone=phone))
check(res.status_code == 202 and res.parsed.status.value == "sent_if_known", "a code is asked for")
code = None
for _ in range(50):  # the SMS is written just after the answer
    for path in glob.glob(os.path.join(OUTBOX, "sms-*.json")):
        try:
            msg = json.load(open(path))
        except ValueError:
            continue  # still being written
        if msg.get("to") == phone and msg.get("template") == "otp":
            code = msg["params"]["code"]
    if code:
        break
    time.sleep(0.1)
check(code is not None, "the code reached the outbox")
ctokens = verify_otp.sync(client=anon, body=OtpVerify(dealer_code="DEMO", phone=phone, code=code))
check(ctokens is not None and not isinstance(ctokens, Problem), "the customer logs in with the code")
customer = AuthenticatedClient(base_url=BASE, token=ctokens.access_token)
mine = list_customer_vehicles.sync(id=first.id, client=customer)
c = book(customer, mine[0].id, free_slot(customer, skip={slot}))
check(c.source.value == "app", "a customer's booking comes from the app")
act(customer, c, StateAction.CANCEL, AppointmentState.CANCELLED)
# the care planner, as the service manager runs it
from sl_client.api.care import get_care_calendar, get_care_settings, put_care_kind, put_care_settings, run_care_planner
from sl_client.models import CareKind, Holiday, KindSwitch

manager = staff("manager")
settings = ok(get_care_settings.sync_detailed(client=manager), 200, "the care settings parse, with every kind")
check(settings.kinds.insurance_renewal.days_before == [30, 7], "insurance renewals go 30 and 7 days ahead by default")
settings.kinds.holiday_greeting.holidays = [Holiday.SPRING_FESTIVAL, Holiday.MID_AUTUMN]
saved = ok(put_care_settings.sync_detailed(client=manager, body=settings), 200, "the manager changes the greeted holidays")
check(saved.kinds.holiday_greeting.holidays == [Holiday.SPRING_FESTIVAL, Holiday.MID_AUTUMN], "the holidays are kept")
paused = ok(put_care_kind.sync_detailed(kind=CareKind.BIRTHDAY, client=manager, body=KindSwitch(enabled=False)), 200,
            "the manager pauses birthday greetings")
check(paused.enabled is False, "a paused kind says so")
ok(put_care_kind.sync_detailed(kind=CareKind.BIRTHDAY, client=manager, body=KindSwitch(enabled=True)), 200, "and resumes them")
report = ok(run_care_planner.sync_detailed(client=manager), 200, "the manager runs the planner now")
check(len(report.days) >= 1 and isinstance(report.days[-1], datetime.date), "a run names the days it planned")
again = ok(run_care_planner.sync_detailed(client=manager), 200, "and again")
check(again.total == 0, "a second run writes nothing new", f"(wrote {again.total})")
cal = ok(get_care_calendar.sync_detailed(client=manager, year=2027), 200, "the care calendar of 2027 parses")
mid = next(h for h in cal.holidays if h.holiday == Holiday.MID_AUTUMN)
check(mid.date == datetime.date(2027, 9, 15) and mid.greeted, "Mid-Autumn 2027 is 15 September, and greeted")
check(not next(h for h in cal.holidays if h.holiday == Holiday.NATIONAL_DAY).greeted, "National Day is not greeted")
bad = put_care_kind.sync_detailed(kind=CareKind.BIRTHDAY, client=advisor, body=KindSwitch(enabled=False))
check(bad.status_code == 403 and isinstance(bad.parsed, Problem), "an advisor may not pause a kind")
# the CSI questionnaire: the seed's, read and sent back unchanged (no new version)
from sl_client.api.csi import get_csi_questionnaire, put_csi_questionnaire
from sl_client.models import Questionnaire, Section

qn = ok(get_csi_questionnaire.sync_detailed(client=manager), 200, "the CSI questionnaire parses")
check([s.section for s in qn.sections] == [Section.FACILITIES, Section.STAFF_CONTACT, Section.WORK_DONE, Section.COST,
                                          Section.FOLLOW_UP] and sum(s.weight for s in qn.sections) == 100,
      "five sections, weights summing to 100")
again_q = ok(put_csi_questionnaire.sync_detailed(client=manager, body=Questionnaire(sections=qn.sections)), 200,
             "the manager sends the questionnaire back")
check(again_q.version == qn.version, "the same questionnaire is the same version")
# the unhappy-customer table: a case opened by hand, contacted, then closed
from sl_client.api.cases import act_on_case, create_case, get_case, list_cases
from sl_client.models import CaseAction, CaseCategory, CaseState, CaseStep, NewCase, Severity

case = ok(create_case.sync_detailed(client=manager, body=NewCase(customer_id=first.id, category=CaseCategory.TIME,
                                                                  severity=Severity.LOW, summary="电话投诉：等待时间太长")),
          201, "the manager opens a case by hand")
check(case.state == CaseState.OPEN and case.overdue is False, "a new case is open and on time")
moved = ok(act_on_case.sync_detailed(id=case.id, action=CaseAction.CONTACT, client=manager,
                                     body=CaseStep(note="已回电致歉")), 200, "a contact is logged")
check(moved.state == CaseState.CONTACTED and [e.action for e in moved.events] == ["opened", "contact"],
      "the case is contacted, every step kept")
bad = act_on_case.sync_detailed(id=case.id, action=CaseAction.VERIFY, client=manager, body=CaseStep(note="x"))
check(bad.status_code == 409 and isinstance(bad.parsed, Problem), "verifying a case not resolved is 409")
ok(act_on_case.sync_detailed(id=case.id, action=CaseAction.CLOSE, client=manager, body=CaseStep(note="客户不再回应")),
   200, "the case is closed unresolved")
listed = ok(list_cases.sync_detailed(client=manager, state=CaseState.CLOSED_UNRESOLVED), 200, "the case list parses")
check(any(c.id == case.id for c in listed), "the closed case is listed by its state")
check(ok(get_case.sync_detailed(id=case.id, client=manager), 200, "one case parses").state == CaseState.CLOSED_UNRESOLVED,
      "and reads back closed")
# the callback list: the delivered order's follow-up call, claimed, answered on the phone
from sl_client.api.callbacks import claim_callback, get_callback, list_callbacks, record_call_outcome
from sl_client.models import AnswerInput, CallbackReason, CallbackState, CallResult, Outcome, SurveyAnswer

agent = staff("care")
queue = ok(list_callbacks.sync_detailed(client=agent, date=datetime.date.today() + datetime.timedelta(days=2)), 200,
           "the callback list parses")
entry = next((e for e in queue if e.reason == CallbackReason.FOLLOW_UP and e.visit and e.visit.repair_order_id == ro.id),
             None)
check(entry is not None and entry.script, "the delivered order has its follow-up call, with a script")
held = ok(claim_callback.sync_detailed(id=entry.id, client=agent), 200, "the agent claims the call")
check(held.claimed_until is not None, "a claim says until when")
taken = claim_callback.sync_detailed(id=entry.id, client=manager)
check(taken.status_code == 409 and isinstance(taken.parsed, Problem), "a second agent's claim is 409")
codes = [q.code for sec in qn.sections for q in sec.questions]
answered = ok(record_call_outcome.sync_detailed(id=entry.id, client=agent, body=Outcome(
    result=CallResult.REACHED, note="客户满意",
    answers=SurveyAnswer(answers=[AnswerInput(code=c, score=9) for c in codes], recommend=10))), 200,
    "the call's answers are recorded")
check(answered.state == CallbackState.DONE and answered.known.csi == "88.9", "the call is done and scored",
      f"({answered.state}, {answered.known.csi})")
check(len(ok(get_callback.sync_detailed(id=entry.id, client=agent), 200, "one entry parses").calls) == 1,
      "the call is kept")
# the CSI analysis: the call's answers count, by section
from sl_client.api.csi import get_csi_report
from sl_client.models import CsiGrouping

today = datetime.date.today()
rep = ok(get_csi_report.sync_detailed(client=manager, from_=today - datetime.timedelta(days=1), to=today + datetime.timedelta(days=1),
                                      by=CsiGrouping.SECTION), 200, "the CSI analysis parses")
check(rep.responses >= 1 and len(rep.groups) == 5 and rep.follow_up.followed_up >= 1,
      "the answered call is a response, in five sections, and a follow-up",
      f"({rep.responses}, {len(rep.groups)}, {rep.follow_up.followed_up})")
print("generated client: all flows passed")
