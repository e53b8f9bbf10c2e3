"""Demo data for the agendas feature: a few items per division with real-sounding threads."""

import random
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app

from deliberation.accounts.models import User
from deliberation.agendas import services
from deliberation.agendas.models import AgendaItem, Comment
from deliberation.demo_context import DemoContext
from deliberation.extensions import db

#: (division slug, proposer handle, title, body, open for discussion?, thread)
#: A thread line is (author, text, index of the comment it answers or None). Authors are
#: demo handles, or "crowd:N" for the N-th crowd member.
DEMO_ITEMS = [
    ("elderly", "citizen", "경로당 운영시간을 저녁 9시까지 연장해 주세요",
     "맞벌이 자녀와 사는 어르신들은 저녁에 갈 곳이 없습니다. 주 3일이라도 **저녁 9시까지** "
     "경로당을 열면 좋겠습니다.\n\n- 난방비와 관리 인력 예산 필요\n- 자원봉사자 참여 가능",
     True, [
         ("crowd:0", "찬성합니다. 겨울에는 특히 저녁에 혼자 계시는 게 걱정됩니다.", None),
         ("official", "현재 관리 인력이 오후 6시에 퇴근합니다. 자원봉사 조를 짜면 "
                      "시범 운영을 검토할 수 있습니다.", 1),
         ("crowd:5", "저희 복지관에서 자원봉사자 연결을 도울 수 있어요.", 2),
         ("crowd:11", "Could the centre also offer a light dinner? Many come hungry.", None),
         ("lead", "좋은 제안입니다. 식사는 별도 안건으로 올려 주시면 함께 논의하겠습니다.", 4),
         ("crowd:17", "주 3일보다 주 5일이 필요합니다. 요일마다 사정이 다릅니다.", None),
     ]),
    ("elderly", "expert", "Home-visit nursing for seniors who live alone",
     "One visit a month is not enough for people with chronic illness. We propose **weekly** "
     "visits for those over 80 who live alone, with a phone check-in in between.",
     True, [
         ("crowd:2", "My mother waited three weeks for a visit after her fall.", None),
         ("crowd:7", "같은 경험이 있습니다. 전화 확인만이라도 매주 해 주시면 좋겠습니다.", 1),
         ("official", "The district has 14 visiting nurses for about 9,000 eligible seniors. "
                      "Weekly visits would need roughly twice as many.", None),
         ("expert", "Then start with those who have no family contact: about 1,200 people.", 3),
         ("crowd:12", "Pass for now: I would like to see the budget first.", None),
     ]),
    ("disability", "facilitator", "구청 민원실에 수어 통역사를 상시 배치해 주세요",
     "농인 주민은 민원실에서 필담으로만 소통하고 있습니다. 영상 통역이라도 **상시** 가능해야 "
     "합니다.",
     True, [
         ("crowd:1", "영상 통역 태블릿이 있다는데 직원들이 사용법을 모릅니다.", None),
         ("crowd:8", "교육부터 해야 합니다. 기계만 두면 소용이 없어요.", 1),
         ("official", "이번 분기 안에 전 직원 교육을 하겠습니다.", 2),
         ("crowd:21", "Deaf residents should be asked how they want to be served.", None),
     ]),
    ("disability", "citizen", "Step-free access at every community centre",
     "Three of our nine community centres still have steps at the entrance and no lift.",
     True, [
         ("crowd:3", "The one near the market has a ramp, but it is too steep for a wheelchair.",
          None),
         ("crowd:13", "경사로 기울기 기준을 지키는지 점검해야 합니다.", 1),
         ("facilitator", "Could someone list the three centres so officials can check them?",
          None),
         ("crowd:23", "Sinwol, Mok-2 and the old Yangcheon centre.", 3),
     ]),
    ("women", "crowd:4", "여성 1인 가구 안심귀갓길 확대",
     "골목 조명과 비상벨이 부족한 구간이 많습니다. 주민이 직접 위험 구간을 지도에 표시하고 "
     "우선순위를 정하자는 제안입니다.",
     True, [
         ("crowd:9", "지도 표시 좋습니다. 밤 11시 이후 버스 정류장 주변이 특히 어둡습니다.", None),
         ("crowd:14", "Lighting helps, but so does a later last bus.", 1),
         ("crowd:19", "비상벨이 작동하는지 정기 점검도 필요합니다.", None),
     ]),
    ("children-youth", "crowd:6", "방과후 돌봄교실 대기자 해소",
     "초등 돌봄교실 대기자가 학교마다 30명이 넘습니다. 빈 교실과 주민센터 공간을 활용하자는 "
     "제안입니다.",
     True, [
         ("crowd:10", "저희 아이도 1년째 대기 중입니다.", None),
         ("crowd:15", "Community-centre rooms are empty every afternoon.", 1),
         ("official", "공간은 있어도 돌봄교사 채용이 어렵습니다. 처우 개선과 같이 봐야 합니다.", 2),
         ("crowd:20", "그럼 사회복지 종사자 분과 안건과 함께 다루면 어떨까요?", 3),
         ("lead", "두 분과 합동 원탁회의를 제안하겠습니다.", 4),
     ]),
    ("children-youth", "expert", "Counselling hours for teenagers after school",
     "School counsellors leave at 4:30 pm. Teenagers who need help most often ask in the "
     "evening.",
     False, []),
    ("families", "citizen", "Weekend childcare for shift-working parents",
     "Nurses, care workers and shop staff work weekends. Public childcare closes on Saturday "
     "at 1 pm.",
     True, [
         ("crowd:16", "주말 돌봄이 없어서 조부모님께 의지하고 있습니다.", None),
         ("crowd:22", "A shared weekend centre for two or three neighbourhoods would be enough.",
          None),
         ("crowd:24", "Agree, as long as it is reachable by bus.", 2),
     ]),
    ("families", "crowd:18", "다문화 가족을 위한 주말 한국어 교실",
     "평일 교실은 일하는 부모가 다닐 수 없습니다. 토요일 오전반을 만들어 주세요.",
     True, [
         ("crowd:25", "Saturday morning works for our family too.", None),
         ("crowd:26", "아이 돌봄도 같이 있으면 참여가 훨씬 늘 겁니다.", None),
     ]),
    ("mental-health", "expert", "정신건강 위기 상담 24시간 핫라인",
     "야간에 위기 상황이 생기면 연결되는 곳이 없습니다. 구 단위 24시간 상담 연계를 제안합니다.",
     True, [
         ("crowd:27", "밤에 전화했다가 내일 다시 걸라는 안내만 들었습니다.", None),
         ("crowd:28", "Peer supporters could take some night shifts with training.", 1),
         ("expert", "동료지원가 참여는 좋은 생각입니다. 교육과 수퍼비전이 필요합니다.", 2),
     ]),
    ("rehabilitation", "crowd:29", "자활근로 참여자 교통비 지원",
     "일터까지 한 시간 넘게 걸리는 참여자가 많습니다. 교통비 실비 지원을 요청합니다.",
     True, [
         ("crowd:30", "한 달 교통비가 7만 원이 넘습니다.", None),
         ("official", "Travel support exists but only above 10 km; we can review the limit.", 1),
     ]),
    ("foreign-residents", "crowd:31", "Multilingual welfare information at ward offices",
     "Leaflets are only in Korean. Residents from Vietnam, China and Mongolia miss benefits "
     "they are entitled to.",
     True, [
         ("crowd:32", "베트남어, 중국어, 몽골어 안내문이 우선 필요합니다.", None),
         ("crowd:33", "A QR code to an online version in many languages would be cheaper.", 1),
         ("crowd:34", "Not everyone uses smartphones; paper is still needed.", 2),
     ]),
    ("health", "official", "Free flu vaccination for family carers",
     "Family carers of disabled or frail relatives are not in the free vaccination group.",
     True, [
         ("crowd:35", "돌봄 가족이 아프면 돌봄이 멈춥니다. 꼭 필요합니다.", None),
         ("crowd:36", "How would carers prove they are carers?", None),
         ("official", "Registration through the long-term care record would work.", 2),
     ]),
    ("welfare-workers", "crowd:37", "사회복지 종사자 야간 근무 수당 현실화",
     "야간 수당이 10년째 동결되어 있습니다. 인력 이탈이 심각합니다.",
     True, [
         ("crowd:38", "저희 기관도 올해만 세 명이 그만뒀습니다.", None),
         ("crowd:39", "Pay scales should follow the national guideline at least.", None),
         ("admin", "관련 예산 자료를 다음 회의에 공유하겠습니다.", 2),
     ]),
    ("welfare-workers", "lead", "Safety protocol for home visits by social workers",
     "Workers visit alone, sometimes at night. We propose visiting in pairs when a risk is "
     "known, and a check-in call after each visit.",
     False, []),
]  # fmt: skip

#: How many crowd members react to each comment, at most.
REACTIONS_PER_COMMENT = 12


@contextmanager
def _limits_lifted() -> Iterator[None]:
    """The seed posts as many people at once; per-person rate limits would stop it."""
    previous = current_app.config.get("RATELIMIT_ENABLED", True)
    current_app.config["RATELIMIT_ENABLED"] = False
    try:
        yield
    finally:
        current_app.config["RATELIMIT_ENABLED"] = previous


def _person(context: DemoContext, handle: str) -> User:
    if handle.startswith("crowd:"):
        return context.crowd[int(handle.removeprefix("crowd:")) % len(context.crowd)]
    return context.users[handle]


def seed_demo(context: DemoContext) -> None:
    """Seed items in every division, threads in Korean and English, and crowd reactions."""
    rng = random.Random(2026)  # noqa: S311 - demo data, not secrets
    facilitator = context.users["facilitator"]
    items: list[AgendaItem] = []
    with _limits_lifted():
        for slug, proposer, title, body, open_now, thread in DEMO_ITEMS:
            division = context.divisions[slug]
            item = services.propose_item(
                _person(context, proposer), division_id=division.id, title=title, body=body
            )
            if open_now:
                services.start_discussion(facilitator, item.id)
            comments: list[Comment] = []
            for author, text, answers in thread:
                parent = comments[answers - 1] if answers else None
                comment, _created = services.post_comment(
                    _person(context, author),
                    item.id,
                    text,
                    parent_id=parent.id if parent else None,
                )
                comments.append(comment)
            for comment in comments:
                crowd = rng.sample(context.crowd, rng.randint(3, REACTIONS_PER_COMMENT))
                for person in crowd:
                    if person.id == comment.author_id:
                        continue
                    value = rng.choices(["agree", "disagree", "pass"], weights=[6, 2, 2])[0]
                    services.react(person, comment.id, value)
            items.append(item)
        db.session.flush()
    context.extras["items"] = items
