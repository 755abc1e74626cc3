"""The advisor's and the customer's booking flows, through a client generated
from the committed openapi.json (openapi-python-client), with no hand edits.

Run by .ci/generated-client against a development server (demo data).
Exits non-zero on the first step that does not go as the contract says.
"""

import datetime
import glob
import json
import os
import sys
import time
import uuid

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
    create_estimate,
    get_repair_order,
    get_repair_order_timeline,
    open_repair_order,
    put_walkaround,
)
from sl_client.api.customers import list_customer_vehicles, list_customers
from sl_client.models import (
    Acceptance,
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
    Problem,
    Reason,
    StateAction,
)

BASE = sys.argv[1]
OUTBOX = sys.argv[2]


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
job = add_repair_order_job.sync_detailed(id=ro.id, client=advisor, body=NewJob(description="更换刹车片 brake pads", labour_hours="1.5"))
check(job.status_code == 201 and len(job.parsed.jobs) == len(ro.jobs) + 1, "a job is added", f"(got {job.status_code}: {job.content[:300]!r})")
est = create_estimate.sync_detailed(id=ro.id, client=advisor)
check(est.status_code == 201 and len(est.parsed.sha256) == 64, "the estimate is frozen with its hash")
acc = accept_estimate.sync_detailed(id=ro.id, client=advisor, body=Acceptance(
    version=est.parsed.version, signature=Signature(kind=SignatureKind.TYPED, name="王小明")))
check(acc.status_code == 200 and acc.parsed.accepted_at is not None, "the estimate is signed")
ro = get_repair_order.sync(id=ro.id, client=advisor)
check(ro.state == OrderState.ESTIMATE_ACCEPTED, "the order's estimate is accepted")
timeline = get_repair_order_timeline.sync(id=ro.id, client=advisor)
check([e.seq for e in timeline] == list(range(1, len(timeline) + 1)), "the timeline parses, in order")

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
print("generated client: all flows passed")
