"""The anti-ad classifier: is this group message an advertisement, and why.

Pure and platform-neutral (standard library only), so the Telegram and WeCom adapters share it and
the benchmark (``python -m bench ads``) measures exactly what runs. It runs on every group message,
so a plain chat line is settled by one regular-expression scan for the characters any rule needs
(ASCII letters and digits, the rarest character of each spam term, a few symbols); only messages
that contain one are normalised and looked at closely.

A message is an ad (``AdHit.reason``) when it has

- ``invite``: a group or channel link (any t.me link, WhatsApp/QQ/LINE/Discord groups, WeChat group
  links) or a QQ group number;
- ``contact``: a WeChat/QQ/LINE/WhatsApp/Telegram id after a contact word (微信, 加V, vx, 薇信, ➕威,
  🐧, LINE ID...), a mobile number next to contact-seeking wording (联系/咨询/详询/私/加/同号), a
  masked number (138****5678), or a WeChat contact link;
- ``link``: a link to a site outside the allow-list (``DEFAULT_ALLOW_DOMAINS`` plus the group's
  own; a subdomain of an allowed site passes, a look-alike such as jd.com.evil.top does not);
- ``lexicon``: spam vocabulary in context. Decisive terms (``DEFAULT_SPAM_TERMS`` and the operator's
  ``extra_terms``) flag a message alone. The others weigh 0-2 and say either what is offered (代购,
  包邮, 见效, 日结, "50% off") or what to do (私我, 扫码, 进群, "DM me"): below a decisive term, an ad
  needs a score of 3 with an offer and a call to action, or 4 from offers alone. A warning (别信,
  被骗, 举报, "scam") switches the vocabulary off; a question about experience (有没有人用过,
  靠谱吗) or second-hand wording (闲置, 自提, 没开封) lowers the score; in a public-service notice
  (疫苗, 接种, 学校, 妇幼) only decisive terms count.

Text is compared after NFKC (full-width to half-width), case folding, removal of zero-width
characters and a traditional-to-simplified table, so ＶＸ, 代購 and 私訊 read as vx, 代购, 私讯.

What we let through
-------------------
A false deletion of a mother's genuine message costs more than a missed ad, so these pass on purpose
(members' reports to the moderators and the flood and cross-post filters are the backstop):

- Contact offers without an id: "加我微信", "号码看我昵称", "点我头像私聊" with nothing offered.
  Phone numbers without contact-seeking wording (clinics, hotlines, wards), and a mobile number
  next to 联系/咨询 in a message about a hospital, clinic or doctor.
- Ids we cannot read as ids: without digits unless introduced by a colon ("vx: mamashop" is caught,
  "vx mamashop" is not), Chinese numerals broken up by spaces with no colon, ids in pictures
  (the QR path sees only QR codes).
- Soft selling: a call to action alone ("需要的私我", "DM me"), sales words alone up to a score of 3
  ("京东特价，优惠力度大"), one product with one price and one call ("辅食课今天下单仅需39元"), and
  offers wrapped in a question ("我朋友做代理的，比超市便宜，靠谱吗？").
- Spam words in a warning or a question ("刷单都是骗人的", "代购靠谱吗", "is it a scam?"), and
  promotions dressed as public-service notices (a message that mentions 疫苗/学校/社区医院 needs a
  decisive term).
- Second-hand sales and giveaways between members (闲置, 转让, 没开封, 自提), even with 私我.
- Terms broken up by spaces or symbols (刷 单, 代·购), and homophones or pinyin outside the contact
  words we know (vx, wx, 薇信, 威信, 徽信, 威心, 卫星, 🐧, 扣扣).
- Anything behind an allow-listed link (shops, WeChat articles, Zhihu, Xiaohongshu, Amazon, health
  authorities, .gov/.edu sites and hospital sites off cheap domains): a Taobao link with "好用" is a
  mother's recommendation far more often than an ad.
- English spam that is not about earning money, loans, crypto, or discounts with a call to action.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

# ------------------------------------------------------------------------------------------ domains

DEFAULT_ALLOW_DOMAINS: frozenset[str] = frozenset(
    {
        # Shops and their short links
        "jd.com", "3.cn", "jd.hk", "taobao.com", "tb.cn", "tmall.com", "tmall.hk", "yangkeduo.com",
        "pinduoduo.com", "suning.com", "dangdang.com", "vip.com", "kaola.com", "dewu.com",
        "amazon.com", "amazon.cn", "amazon.co.uk", "amazon.co.jp", "amazon.de", "amazon.ca",
        "amazon.com.au", "amazon.sg", "amzn.to", "amzn.asia", "amzn.eu", "a.co", "ikea.com",
        "ikea.cn", "costco.com", "target.com", "walmart.com", "boots.com", "mothercare.com",
        # Social and content sites (WeChat articles only: weixin.qq.com/g/ and /r/ are contact links)
        "mp.weixin.qq.com", "xiaohongshu.com", "xhslink.com", "zhihu.com", "bilibili.com", "b23.tv",
        "weibo.com", "weibo.cn", "douyin.com", "kuaishou.com", "ximalaya.com", "baike.baidu.com",
        "youtube.com", "youtu.be", "wikipedia.org", "reddit.com", "redd.it", "instagram.com",
        "facebook.com", "apps.apple.com", "play.google.com", "maps.google.com", "goo.gl/maps",
        # Parenting and health information
        "dxy.cn", "dxy.com", "babytree.com", "mama.cn", "haodf.com", "guahao.com", "91160.com",
        "114yygh.com", "chinacdc.cn", "cnsoc.org", "chinanutri.cn", "cma.org.cn", "who.int",
        "unicef.org", "nhs.uk", "healthychildren.org", "aap.org", "acog.org", "mayoclinic.org",
        "babycenter.com", "babycenter.co.uk", "whattoexpect.com", "kidshealth.org", "webmd.com",
        "healthline.com", "medlineplus.gov", "raisingchildren.net.au", "nct.org.uk", "tommys.org",
        "llli.org", "lalecheleague.org", "zerotothree.org", "thebump.com", "mumsnet.com",
        "babylist.com", "hk01.com",
        # Government (any .gov, .gov.xx, .edu, .edu.xx and .ac.xx site passes as well, see _allowed)
        "gov.cn", "gov.tw", "gov.uk", "gov.hk", "gov.mo", "gov.sg", "gov.au", "canada.ca", "gc.ca",
    }
)

# Cheap top-level domains spam sites favour; a hospital-looking name under one of them is not trusted.
_CHEAP_TLDS = frozenset(
    "top xyz shop vip cc icu site online club live life fun link click store tk ml ga cf gq buzz work "
    "win bid loan rest cyou sbs cfd bond monster pw ws today space website ink red ltd wang vin xin "
    "bet cash money fit fans plus run".split()
)
_INSTITUTION_HOST = re.compile(r"(?:^|\.)(?:gov|edu|mil|nhs)(?:\.[a-z]{2})?$|(?:^|\.)(?:ac|gouv|gob|go)\.[a-z]{2}$")
_HOSPITAL_LABEL = re.compile(r"hospital|hosp|clinic|fuyou|fybj|yiyuan")

# ------------------------------------------------------------------------------------------ vocabulary

# Decisive spam phrases: one is enough (brushing jobs, gambling, loans, miracle cures, reseller recruiting).
DEFAULT_SPAM_TERMS: tuple[str, ...] = (
    "刷单", "刷信誉", "躺赚", "一单一结", "返佣", "点赞员", "好评员", "垫付单", "一件代发", "招代理", "代理招募",
    "招募代理", "诚招代理", "合伙人招募", "假一赔十", "一手货源", "百家乐", "时时彩", "彩金", "首充", "竞彩",
    "推单", "稳赚", "博彩", "无抵押", "秒批", "信用卡代还", "小额贷", "随借随还", "包怀上", "包治百病",
    "无效退款", "无效不收", "月入过万", "红包群", "福利群", "进群领", "赚钱两不误", "instant loan",
    "no credit check", "payday loan",
)

# What a term says: an offer (something sold, promised or paid for), a call to action (message me, order,
# scan), or both. Below the decisive terms, an ad needs an offer, and a call to action unless the offer is
# heavy: a call alone ("需要的私我") is how members help each other, sales words alone ("京东特价，优惠大")
# are a mother sharing a deal.
OFFER, CALL, BOTH = 1, 2, 3
_CALLS = frozenset(
    {
        "私我", "私聊", "私信", "私讯", "详聊", "详情", "咨询", "欢迎咨询", "详询", "有意者", "想了解的", "有兴趣的",
        "感兴趣", "需要的", "想要的", "加我", "联系我", "加我微信", "戳我", "看过来", "宝妈们注意", "下单", "报名",
        "进群", "群码", "拉你", "拉你进群", "加老师", "邀请你加入", "关注公众号", "dm me",
        "send me a dm", "pm me", "inbox me", "message me", "msg me", "contact me", "whatsapp me", "ask me how",
        "want to know how", "link in bio", "link in my bio", "link in my profile", "click the link",
    }
)
_CALLS_WITH_OFFER = frozenset(
    {
        "找我拿", "找我买", "找我下单", "链接私", "发你价格", "购买方式", "填写地址", "填地址", "填信息", "order now", "shop now", "enroll now",
        "sign up now", "join now", "buy now", "加v", "加vx", "加微", "+v", "+威", "+薇", "+微", "薇信", "威信",
        "徽信", "威心", "v信", "微❤", "薇❤", "v❤",
    }
)

# Weighted context terms: (weight, needles). Weight 0: a call to action that adds nothing by itself. Chinese needles match as substrings, English ones as words.
_TERMS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (2, (
        # selling and reselling
        "代购", "直邮", "正品保障", "秒发", "货源", "团购价", "价格私聊", "库存不多", "库存有限", "内部价", "出厂价", "全网最低",
        "手慢无", "先到先得", "送完即止", "立减", "报价", "微商", "上新", "回购", "信誉", "有渠道",
        "朋友在卖", "做代理", "合伙人", "购买方式", "发你价格", "链接私", "欢迎咨询", "有意者", "详询", "戳我",
        "找我拿", "找我买", "找我下单", "私我", "不反弹", "大礼包", "首月免费", "赢在起跑线", "训练营",
        "免费领", "填写地址", "填地址", "填信息", "关注公众号", "中奖", "无套路", "优惠群", "团购群", "邀请你加入",
        "直供", "直销",
        # work from home
        "兼职刷", "打字员", "佣金", "副业", "诚招", "高薪", "做任务", "领任务", "首单", "计件", "外发", "零成本",
        "零门槛", "无需经验", "一部手机", "动动手指", "在家也能赚", "在家就能赚", "宝妈首选", "宝妈优先",
        "宝妈专属", "宝妈必备", "宝妈必学", "适合宝妈", "宝妈也能", "名额仅剩", "日赚", "带娃赚钱",
        # loans and gambling
        "网贷", "下款", "黑户", "征信", "借款", "放款", "低息", "月息", "无担保", "零首付", "资金周转", "白户", "凭身份证", "翻倍",
        "赚翻", "快钱", "出款", "提款", "回本", "胜率", "带单", "跟单", "棋牌", "返点", "稳定盈利",
        # remedies
        "祖传", "家传", "秘方", "秘制", "专治", "无副作用", "见效", "克星", "中医世家", "医院同款", "全额退",
        "货到付款", "神药", "一抹就好", "包成功", "代孕", "供卵",
        # contact-seeking without an id (obfuscated WeChat spellings only ads use)
        "加v", "加vx", "加微", "+v", "+威", "+薇", "+微", "薇信", "威信", "徽信", "威心", "v信", "微❤", "薇❤",
        "v❤", "加老师",
        # English
        "link in bio", "link in my bio", "link in my profile", "click the link", "order now", "shop now",
        "enroll now", "sign up now", "join now", "buy now", "limited spots", "discount code", "promo code",
        "coupon code", "wholesale", "crypto", "bitcoin", "forex", "vip channel", "vip group", "get paid",
        "per task", "paid same day", "no experience", "extra income", "passive income", "financially free",
        "financial freedom", "money back", "miracle", "cash fast", "extra cash",
    )),
    (0, ("需要的", "想要的", "咨询")),
    (1, (
        "现货", "正品", "特价", "买一送一", "包邮", "下单", "清仓", "秒杀", "打折", "折扣", "优惠", "特惠", "团购", "低价", "限时",
        "原价", "仅限", "名额有限", "福利", "红包", "试用装", "领取", "抽奖", "小程序", "注册", "二维码", "报名", "试听",
        "体验课", "开业", "代理", "招募", "招聘", "招人", "朋友圈", "每天更新", "渠道", "效果", "口碑", "神器",
        "必备", "私聊", "私信", "私讯", "详聊", "详情", "想了解的", "有兴趣的", "感兴趣", "看过来", "宝妈们注意", "打扰一下", "本人做", "不是广告",
        "免费送", "免费试听", "免费体验", "瘦身", "代餐", "不节食", "兼职", "垫付", "押金", "贷款", "利息",
        "额度", "到账", "周转", "平台", "精准", "比分", "流水", "澳门", "偏方", "根治", "神奇", "纯中药",
        "纯天然", "纯植物", "无激素", "疗程", "老中医", "受益", "上门服务", "不收钱", "拉你", "优惠券", "大额",
        "内部", "加我微信", "一对一", "我们的产品", "我们品牌", "我们店", "本店", "试试我们的", "借钱", "全场", "加我", "联系我", "进群", "群码", "拉你进群", "厂家", "批发",
        # English
        "dm me", "send me a dm", "pm me", "inbox me", "message me", "msg me", "contact me", "whatsapp me",
        "ask me how", "want to know how", "limited time", "today only", "discount", "bulk", "trading",
        "investment", "mentor", "signals", "guaranteed", "giveaway", "vote for", "sorry to intrude",
        "sorry to interrupt", "sorry to bother", "not an ad", "from home", "free trial", "first week free",
        "first month free", "loan", "part-time", "part time", "special offer", "exclusive offer",
    )),
)

# Terms that need more than a substring: (weight, a needle every match contains, pattern, kind); an
# empty needle means the pattern is tried on every message that passes the pre-check.
_PATTERNS: tuple[tuple[int, str, str, int], ...] = (
    (3, "月入", r"月入\s*(?:过万|[\d一两二三四五六七八九十几百千万]+)", OFFER),
    (3, "扫码", r"扫码\s*(?:即可|就能|免费)?\s*(?:领|进群|入群|加我|加群|看额度|抽)", BOTH),
    (3, "进群", r"进群\s*(?:就|即)?\s*(?:领|送|抢)|进群\s*(?:看|有)(?:战绩|福利|红包|优惠)", BOTH),
    (3, "入", r"(?<![周今昨明节假])日入\s*(?:过万|[\d一两二三四五六七八九十几百千万])", OFFER),
    (3, "赚", r"日赚\s*(?:过万|[\d一两二三四五六七八九十几百千万])", OFFER),
    (2, "结", r"(?<![周今昨明生节假])日结(?![束婚果论算账])", OFFER),
    (2, "二维码", r"(?:扫描|扫|长按识别|识别)\s*(?:下方|上方|下图|图中|图片|左边|右边)?(?:的)?二维码", CALL),
    (2, "扫码", r"扫码", CALL),
    (3, "充", r"(?<!补)充值?\s*[\d一二三四五六七八九十百千]*\s*(?:元|块)?\s*(?:就|即|立)?送", OFFER),
    (3, "注册", r"注册(?:就|即)?送", OFFER),
    (2, "赚", r"(?:每[天日月周]|一[天周个]月?|日|月|天天)(?:多|轻松|能|就能|可以|稳定)?赚\s*[\d一二三四五六七八九十几百千万]", OFFER),
    (2, "赚", r"(?:在家|带娃|手机|玩游戏|动动手指).{0,6}(?:赚钱|赚)", OFFER),
    (2, "值", r"价值\s*[\d一二三四五六七八九十百千万]+", OFFER),
    (2, "送", r"(?:报名|下单|购买|关注|进群|入群|转发|分享)(?:就|即|立|还)?送", BOTH),
    (0, "要的", r"(?<![需想])要的(?:妈妈|宝妈|姐妹)", CALL),
    (1, "便宜", r"比[^，。！？,.!?\s]{1,4}便宜", OFFER),
    (3, "征信", r"(?:不看|不查|无视)征信|征信(?:花|黑|不好)了?(?:也|都)(?:能|可以)", OFFER),
    (2, "first", r"\bfirst \d+ (?:moms|mums|mothers|people|customers|parents|members|buyers)\b", OFFER),
    (2, "头像", r"(?:看|见|点|戳)(?:我的?)?头像", CALL),
    (2, "名", r"前\s*[\d一二三四五六七八九十百]+\s*名(?!字)", OFFER),
    (2, "已", r"已(?:经)?(?:帮助|帮|有|服务|带)了?\s*(?:\d{3,}|\d+\s*\+|[上几]?[百千万]|[一二三四五六七八九十]+[百千万])\+?\s*多?(?:个|位|名)?(?:宝妈|妈妈|家庭|客户|孕妈|人)", OFFER),
    (1, "折", r"[\d一二三四五六七八九](?:\.\d)?\s*折(?![腾叠磨断射])", OFFER),
    (1, "只", r"(?:只要|只需)\s*[\d一二三四五六七八九十百千]+(?:\.\d+)?\s*(?:元|块|¥)?(?![\d个月天岁次%])", OFFER),
    (1, "仅", r"仅(?:需|要)?\s*[\d一二三四五六七八九十百千]+(?:\.\d+)?\s*(?:元|块|¥)?(?![\d个月天岁次%])", OFFER),
    (1, "扣", r"扣\s*(?:个)?\s*1(?!\d)", CALL),
    (1, "帮", r"帮忙带(?![娃孩宝小])", OFFER),
    (1, "了", r"(?:用|喝|吃|贴|涂|抹)了(?:这|一)[个款瓶盒支]", OFFER),
    (1, "", r"(?<![\d一两二三四五六七八九十半])[\d一两二三四五六七八九十半]{1,4}\s*(?:天|晚上?|周|个?月|次|盒|贴)\s*(?:就|便|即|后)?(?:好了|就好|消了|退了|够吃|见效|瘦|长出|长高|淡化|消失|睡整觉|睡到天亮|不便秘)", OFFER),
    (1, "斤", r"(?:长高|长了|瘦了?|胖了?|减了?)\s*[\d一两二三四五六七八九十]+\s*(?:斤|公斤)", OFFER),
    (1, "长", r"(?:长高|长了)\s*[\d一两二三四五六七八九十]+\s*(?:厘米|公分)", OFFER),
    (2, "$", r"\b(?:earn|make|made|making|earning)\s+(?:up to\s+|over\s+)?\$\s?\d", OFFER),
    (2, "$", r"\$\s?\d[\d,.]*k?(?:\s*-\s*\$?\d[\d,.]*k?)?\s*(?:(?:a|per|/)\s*(?:day|week|hour|task)|daily|weekly)", OFFER),
    (2, "$", r"\bturn \$\s?\d[\d,]* into\b", OFFER),
    (2, "$", r"\bwin \$\s?\d", OFFER),
    (1, "%", r"\d\s*% off\b", OFFER),
    (2, "helped", r"\bhelped \d+\+? (?:mothers|moms|mums|families|parents)", OFFER),
)

# The message warns about spam or reports it: spam words in it are the warning's, not an offer.
_WARNING = re.compile(
    r"(?<!不是)(?<!不)骗|别信|别上当|别碰|(?<!无)套路|小心|举报|千万别|警惕|冒充|屏蔽|当心|谨防"
    r"|\bscam|\bwarning\b|\bbeware\b|\breport(?:ed|ing)?\b|\bfraud|\bfall for\b"
)
# Asking others about their experience: lowers the score.
_QUESTION = re.compile(
    r"有没有(?:人|妈妈|宝妈|姐妹|朋友|哪位)|有人(?:用|买|找|做|试|吃|喝|知道|了解|去)过?|靠谱吗|可靠吗|是真的吗|是正品吗|请问|求问"
    r"|\bhas anyone\b|\bdoes anyone\b|\banyone (?:tried|used|know|else)\b|\bis (?:it|this|that) legit\b"
)
# Second-hand sales and giveaways between members: lowers the score.
_SECOND_HAND = re.compile(
    r"闲置|自提|自取|面交|不要钱|转让|[几九八七]成新|全新|没拆|未拆|没开封|未开封|穿小|用不上|用不到|用不完|拿走|同城"
    r"|pick ?up|giving away|barely used|free to a good home"
)
# Public-service notices (vaccination, clinics, school) read like promotions (名额有限, 扫码预约) but are
# not: in one, only decisive terms count.
_OFFICIAL = re.compile(r"社区医院|社区卫生|卫健|疫苗|接种|学校|幼儿园|街道|居委|政府|妇幼|保健院|疾控|vaccin|council|\bnhs\b")
_THRESHOLD = 3

# ------------------------------------------------------------------------------------------ normalising

# Traditional -> simplified, one character each, for the 3,755 common characters (GB2312 level 1) and our
# vocabulary; generated once with OpenCC's s2t/s2tw/s2hk tables, checked to round-trip through t2s.
_TRADITIONAL = (
    "丟並亂亞佔來侖侶俠倆倉個們倫偉側偵偽傑傘備傭傳債傷傾僅僑僕僞僥僱價儀億儈儉償優儲兇兌兒內兩冊冪凍凜凱別刪則剎剛剝剮創劃劇"
    "劉劊劍劑勁動務勝勞勢勳勵勸勻匯區協卻厭厲參叄叢吳吶呂員問啓啞啟喚喪喫喬單喲嗆嗎嗚嘆嘔嘗嘯噓噴噸嚇嚨嚴囂囑囪國圍園圓圖團執"
    "堅堯報場塊塗塢塵塹墊墜墮墳墾壇壓壘壞壟壩壯壺壽夠夢夥夾奧奪奮妝娛婁婦媽嬌嬰嬸孫學孿宮寢實寧審寫寬寵寶將專尋對導屆屍屜屢層"
    "屬岡峯島峽崗嶄嶺嶼嶽巋巒巖帥師帳帶幀幟幣幫幹幾庫廁廂廄廈廚廟廠廢廣廬廳張強彈彌彎彥後徑從復徵徹恆恥悅悶悽惡惱愛態慘慚慣慫"
    "慮慶憂憊憐憑憚憤憫憲憶懇應懲懶懷懸懼懾戀戰戲戶拋挾掃掄掙掛採揀揚換揮損搖搗搶摟摯摳摻撈撐撓撣撥撫撲撻撾撿擁擄擇擊擋擔據擠"
    "擬擯擰擱擲擴擺擻擾攆攏攔攙攜攝攢攣攤攪攬敗敘敵數斂斃斬斷於時晉晝暈暢暫曉曠曬書會東柵條棄棗棟棧棲楊楓業極榮構槍槓槳樁樂樓"
    "標樞樣樸樹橋機橢橫檔檢檸檻櫃櫥櫻欄權欽歐歡歲歷歸殘殲殺殼毀毆氈氣氫汙決沒況洩洶涼淚淨淪淵淺渙減渦測渾湊湧湯準溝溫溼滄滅滌"
    "滬滯滲滷滾滿漁漚漢漣漬漲漸漿潑潔潛潤潰澀澆澇澗澤澱濁濃濕濘濟濤濫濰濱濺濾瀉瀕瀝瀾灑灘灣灤災為烏烴無煉煙煥煩熒熱熾燈燒燙營"
    "燦燭燴燻燼爍爐爛爭爲爺爾牀牆牽犢犧狀狹狽猙猶獄獅獎獨獰獲獵獸獺獻現琺瑣瑤瑩瑪環瓊甕產畝畢畫異當疇疊痙瘋瘍瘓瘡瘧療癟癡癢癬"
    "癰癱發皁皚皺盜盞盡監盤盧眾睜瞞矚矯硯碩確碼磚礎礙礦礫礬祕祿禍禮禱禿稅稈稜種稱積穎穢穩窩窪窮窯窺竄竅竈竊競筆筍箋節範築篩簍"
    "簡簾籃籌籠籤籬籮籲粵糞糧糾紀約紅紉紋納紐純紗紙級紛紡細紳紹終組絆結絕絛絞絡絢給絨統絲絹綁綏經綜綠綢維綱網綴綸綻綽綿緊緒緘"
    "線緝緞締緣編緩緬緯練縛縣縫縮縱縷總績繃織繕繞繡繩繪繭繳繹繼續纏纓纖纜缽罰罵罷羅羣羨義習翹聖聞聯聰聲聳聶職聽聾肅脅脈脣脫脹"
    "腎腦腫腳腸膚膠膩膽膿臉臍臘臥臨臺與興舉舊艙艦艱茲荊莊莖莢華萊萬葉葦葷蒼蓋蓮蔣蔥蔭蕩蕪蕭薊薔薦薩藍藝藥藴藹蘆蘇蘊蘋蘭蘿處虛"
    "虜號虧蛻蝕蝦蝨蝸螞螢蟄蟬蟲蟻蠅蠍蠟蠱蠶蠻衆術衛衝裏補裝裡褲襖襪襯襲見規覓視親覺覽觀觸訂訃計訊討訓訖記訛訝訟訣訪設許訴診詐"
    "評詛詞詠詢詣試詩詫詭話該詳誅誇認誕誘語誠誡誣誤誦誨說説誰課誹誼調諄談請諒論諜諧諮諱諷諸諺諾謀謂謄謅謊謎謗謙講謝謠謬謹謾譁"
    "證譏識譚譜譯議譴護譽讀變讒讓讕豈豎豐豔豬貓貝貞負財貢貧貨販貪貫責貯貳貴貶買貸費貼貿賀賂賃賄資賈賊賒賓賜賞賠賢賣賤賦質賬賭"
    "賴賺購賽贅贈贊贍贏贓贖贛趕趙趨跡踐踴蹤躊躍躥軀車軋軌軍軒軟軸較載輔輕輛輝輥輩輪輯輸輻輾輿轄轅轉轍轎轟辦辭辮辯農這連進遊運"
    "過達違遙遜遞遠適遲遷選遺遼邁還邊邏郵鄉鄒鄖鄧鄭鄰鄲醖醜醞醫醬釀釁釋釐釘針釣釩釺鈉鈍鈎鈔鈕鈞鈣鈴鈾鉀鉑鉗鉚鉛鉢鉤鉸鉻銀銅銑"
    "銘銜銥銳銷銻鋁鋅鋇鋒鋤鋪鋭鋸鋼錄錐錘錠錢錦錨錫錯錳鍁鍋鍍鍘鍛鍬鍵鍺鍾鎂鎊鎖鎢鎬鎮鎳鏈鏟鏡鏽鐐鐮鐳鐵鑄鑑鑰鑲鑷鑼鑽鑿長門閃"
    "閉開閏閒間閘閡閣閥閨閩閱閲閹閻闊闌闖關闡闢陝陣陰陳陸陽隊階隕際隨險隱隴隸雖雙雛雜雞離難雲電霧靈靜鞏韋韌韓韻響頁頂頃項順須"
    "頌預頑頒頓頗領頤頭頰頸頹頻顆題額顏願顛類顧顫顯顱顴風飄飛飢飯飲飼飽飾餃餅養餌餒餓餘餞餡館餾饅饋饒饞馬馭馮馱馳馴駁駐駒駕駛"
    "駝駭駱駿騁騎騙騰騷騾驅驕驗驚驟驢骯髒體鬥鬧鬱魚魯鮑鮮鯉鯨鰓鱉鱗鳥鳳鳴鴉鴕鴛鴦鴨鴻鴿鵑鵝鵬鵲鶴鷗鷹鹹鹼鹽麗麥麼黃點黨黴齊齋"
    "齒齡齧齲龍龐龔龜"
)
_SIMPLIFIED = (
    "丢并乱亚占来仑侣侠俩仓个们伦伟侧侦伪杰伞备佣传债伤倾仅侨仆伪侥雇价仪亿侩俭偿优储凶兑儿内两册幂冻凛凯别删则刹刚剥剐创划剧"
    "刘刽剑剂劲动务胜劳势勋励劝匀汇区协却厌厉参叁丛吴呐吕员问启哑启唤丧吃乔单哟呛吗呜叹呕尝啸嘘喷吨吓咙严嚣嘱囱国围园圆图团执"
    "坚尧报场块涂坞尘堑垫坠堕坟垦坛压垒坏垄坝壮壶寿够梦伙夹奥夺奋妆娱娄妇妈娇婴婶孙学孪宫寝实宁审写宽宠宝将专寻对导届尸屉屡层"
    "属冈峰岛峡岗崭岭屿岳岿峦岩帅师帐带帧帜币帮干几库厕厢厩厦厨庙厂废广庐厅张强弹弥弯彦后径从复征彻恒耻悦闷凄恶恼爱态惨惭惯怂"
    "虑庆忧惫怜凭惮愤悯宪忆恳应惩懒怀悬惧慑恋战戏户抛挟扫抡挣挂采拣扬换挥损摇捣抢搂挚抠掺捞撑挠掸拨抚扑挞挝捡拥掳择击挡担据挤"
    "拟摈拧搁掷扩摆擞扰撵拢拦搀携摄攒挛摊搅揽败叙敌数敛毙斩断于时晋昼晕畅暂晓旷晒书会东栅条弃枣栋栈栖杨枫业极荣构枪杠桨桩乐楼"
    "标枢样朴树桥机椭横档检柠槛柜橱樱栏权钦欧欢岁历归残歼杀壳毁殴毡气氢污决没况泄汹凉泪净沦渊浅涣减涡测浑凑涌汤准沟温湿沧灭涤"
    "沪滞渗卤滚满渔沤汉涟渍涨渐浆泼洁潜润溃涩浇涝涧泽淀浊浓湿泞济涛滥潍滨溅滤泻濒沥澜洒滩湾滦灾为乌烃无炼烟焕烦荧热炽灯烧烫营"
    "灿烛烩熏烬烁炉烂争为爷尔床墙牵犊牺状狭狈狰犹狱狮奖独狞获猎兽獭献现珐琐瑶莹玛环琼瓮产亩毕画异当畴叠痉疯疡痪疮疟疗瘪痴痒癣"
    "痈瘫发皂皑皱盗盏尽监盘卢众睁瞒瞩矫砚硕确码砖础碍矿砾矾秘禄祸礼祷秃税秆棱种称积颖秽稳窝洼穷窑窥窜窍灶窃竞笔笋笺节范筑筛篓"
    "简帘篮筹笼签篱箩吁粤粪粮纠纪约红纫纹纳纽纯纱纸级纷纺细绅绍终组绊结绝绦绞络绚给绒统丝绢绑绥经综绿绸维纲网缀纶绽绰绵紧绪缄"
    "线缉缎缔缘编缓缅纬练缚县缝缩纵缕总绩绷织缮绕绣绳绘茧缴绎继续缠缨纤缆钵罚骂罢罗群羡义习翘圣闻联聪声耸聂职听聋肃胁脉唇脱胀"
    "肾脑肿脚肠肤胶腻胆脓脸脐腊卧临台与兴举旧舱舰艰兹荆庄茎荚华莱万叶苇荤苍盖莲蒋葱荫荡芜萧蓟蔷荐萨蓝艺药蕴蔼芦苏蕴苹兰萝处虚"
    "虏号亏蜕蚀虾虱蜗蚂萤蛰蝉虫蚁蝇蝎蜡蛊蚕蛮众术卫冲里补装里裤袄袜衬袭见规觅视亲觉览观触订讣计讯讨训讫记讹讶讼诀访设许诉诊诈"
    "评诅词咏询诣试诗诧诡话该详诛夸认诞诱语诚诫诬误诵诲说说谁课诽谊调谆谈请谅论谍谐咨讳讽诸谚诺谋谓誊诌谎谜谤谦讲谢谣谬谨谩哗"
    "证讥识谭谱译议谴护誉读变谗让谰岂竖丰艳猪猫贝贞负财贡贫货贩贪贯责贮贰贵贬买贷费贴贸贺赂赁贿资贾贼赊宾赐赏赔贤卖贱赋质账赌"
    "赖赚购赛赘赠赞赡赢赃赎赣赶赵趋迹践踊踪踌跃蹿躯车轧轨军轩软轴较载辅轻辆辉辊辈轮辑输辐辗舆辖辕转辙轿轰办辞辫辩农这连进游运"
    "过达违遥逊递远适迟迁选遗辽迈还边逻邮乡邹郧邓郑邻郸酝丑酝医酱酿衅释厘钉针钓钒钎钠钝钩钞钮钧钙铃铀钾铂钳铆铅钵钩铰铬银铜铣"
    "铭衔铱锐销锑铝锌钡锋锄铺锐锯钢录锥锤锭钱锦锚锡错锰锨锅镀铡锻锹键锗钟镁镑锁钨镐镇镍链铲镜锈镣镰镭铁铸鉴钥镶镊锣钻凿长门闪"
    "闭开闰闲间闸阂阁阀闺闽阅阅阉阎阔阑闯关阐辟陕阵阴陈陆阳队阶陨际随险隐陇隶虽双雏杂鸡离难云电雾灵静巩韦韧韩韵响页顶顷项顺须"
    "颂预顽颁顿颇领颐头颊颈颓频颗题额颜愿颠类顾颤显颅颧风飘飞饥饭饮饲饱饰饺饼养饵馁饿余饯馅馆馏馒馈饶馋马驭冯驮驰驯驳驻驹驾驶"
    "驼骇骆骏骋骑骗腾骚骡驱骄验惊骤驴肮脏体斗闹郁鱼鲁鲍鲜鲤鲸鳃鳖鳞鸟凤鸣鸦鸵鸳鸯鸭鸿鸽鹃鹅鹏鹊鹤鸥鹰咸碱盐丽麦么黄点党霉齐斋"
    "齿龄啮龋龙庞龚龟"
)
_TABLE: dict[int, int | str | None] = str.maketrans(_TRADITIONAL, _SIMPLIFIED)
# Zero-width characters, variation selectors and the keycap mark vanish; the plus and heart look-alikes unify.
_TABLE.update(dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\ufeff\ufe0e\ufe0f\u20e3"), None))
_TABLE.update({ord(plus): "+" for plus in "➕✚✙╋"})
_TABLE.update({ord(heart): "❤" for heart in "♥♡❥❣💗💕💖💓💘💝💞🧡💛💚💙💜🖤🤍🤎💟"})


_NEEDS_TABLE = re.compile("[" + re.escape("".join(chr(code) for code in _TABLE)) + "]")


def normalise(text: str) -> str:
    """NFKC (full-width to half-width), case folded, zero-width characters dropped, traditional to simplified."""
    if text.isascii():
        return text.lower()
    if not unicodedata.is_normalized("NFKC", text):  # each step only when it would change something
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    if _NEEDS_TABLE.search(text) is not None:
        text = text.translate(_TABLE)
    return text


# ------------------------------------------------------------------------------------------ results


@dataclass(frozen=True, slots=True)
class AdRules:
    allow_domains: frozenset[str] = DEFAULT_ALLOW_DOMAINS  # a host or any subdomain of one passes
    extra_terms: tuple[str, ...] = ()  # the operator's spam phrases; each flags a message alone


@dataclass(frozen=True, slots=True)
class AdHit:
    reason: str  # "link", "contact", "lexicon" or "invite"
    evidence: str  # the matched domain, id, number or term; never the whole message


_DEFAULT_RULES = AdRules()

# ------------------------------------------------------------------------------------------ links

_STOP = r"\s<>\"'`，。！？、；：（）【】「」《》“”‘’…|^{}"
_TLDS = (
    "com|net|org|cn|top|xyz|shop|vip|cc|icu|site|online|club|info|biz|live|life|fun|link|click|store|tk|ml|ga|"
    "cf|gq|buzz|work|win|bid|loan|ly|tv|io|app|co|hk|tw|uk|jp|kr|au|de|ru|ws|pw|cyou|sbs|cfd|bond|rest|mobi|"
    "pro|cloud|asia|today|space|website|tech|ink|red|ltd|wang|vin|xin|games|bet|cash|money|fit|fans|plus|"
    "run|email|news|chat|group|team|world|zone|one|best|gov|edu|int|mo|sg|vn"
)
# Top-level domains that are English words: "thanks.today" or "so.fun" is a missing space, not a link,
# unless the name has a digit or hyphen, a subdomain or a path ("free-gift.shop", "a.b.club", "x.fun/1").
_WORD_TLDS = frozenset(
    "shop site online club live life fun link click store work win bid loan app co pro cloud today space "
    "website tech ink red games bet cash money fit fans plus run email news chat group team world zone one "
    "best rest bond".split()
)
_URL = re.compile(
    rf"(?:[a-z][a-z0-9+.-]{{1,15}}://|www\.)[^{_STOP}]+"
    rf"|(?<![a-z0-9@._-])(?:(?:t|wa|telegram)\.me|(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLDS}))"
    rf"(?![a-z0-9-])(?::\d{{2,5}})?(?:/[^{_STOP}]*)?"
)
# "abc点com", "abc。top", "abc(dot)xyz": a link spelt so the client does not make it clickable.
_SPELT_URL = re.compile(
    rf"(?<![a-z0-9-])((?:[a-z0-9-]{{1,63}}\s?(?:。|点|\(点\)|\[\.\]|\(\.\)|\(dot\)|\[dot\])\s?){{1,4}}(?:{_TLDS}))(?![a-z])"
)
_SPELT_DOT = re.compile(r"\s*(?:。|点|\(点\)|\[\.\]|\(\.\)|\(dot\)|\[dot\])\s*")
_TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
_INVITE_HOSTS = frozenset({"chat.whatsapp.com", "qm.qq.com", "jq.qq.com", "discord.gg", "discord.com", "discordapp.com"})
_CONTACT_HOSTS = frozenset({"u.wechat.com", "wa.me", "api.whatsapp.com"})
_PAYMENT_HOSTS = frozenset({"qr.alipay.com", "render.alipay.com", "payapp.weixin.qq.com", "wx.tenpay.com", "qr.95516.com"})
_PAYMENT_SCHEMES = ("wxp:", "weixin:", "alipays:", "alipay:", "alipayqr:", "upwallet:", "unionpay:")


def _split_url(url: str) -> tuple[str, str, str]:
    """(scheme, host, path) of a link as written, lower case; the host without userinfo and port."""
    url = url.strip().rstrip(".,;:!?)]}>'\"").lower()
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    cut = len(rest)
    for mark in "/?#\\":
        found = rest.find(mark)
        if found != -1 and found < cut:
            cut = found
    authority, path = rest[:cut], rest[cut:]
    host = authority.rpartition("@")[2].partition(":")[0].strip(".")
    return scheme, host, path


def _allowed(host: str, allow: frozenset[str]) -> bool:
    if len(host) > 253:  # longer than any real host name
        return False
    if host in allow:
        return True
    dot = host.find(".")
    while dot != -1:
        if host[dot + 1 :] in allow:
            return True
        dot = host.find(".", dot + 1)
    labels = host.split(".")
    if _INSTITUTION_HOST.search(host):
        return True
    return len(labels) >= 2 and labels[-1] not in _CHEAP_TLDS and bool(_HOSPITAL_LABEL.search(".".join(labels[:-1])))


def _url_verdict(url: str, rules: AdRules) -> AdHit | None:
    scheme, host, path = _split_url(url)
    first = path.strip("/").partition("/")[0]
    if scheme in ("tg",):
        return AdHit("invite", url[:40])
    if url.lower().startswith(_PAYMENT_SCHEMES):
        return AdHit("link", url.lower().partition(":")[0] + "://")
    if scheme in ("mailto", "tel", "sms", "smsto") or not host:
        return None
    if host in _TELEGRAM_HOSTS:
        return AdHit("invite", f"{host}/{first}"[:40])
    if host in _INVITE_HOSTS or (host == "line.me" and "/g" in path):
        return AdHit("invite", host)
    if host in _CONTACT_HOSTS or host == "line.me":
        return AdHit("contact", host)
    if host.endswith("weixin.qq.com") and host != "mp.weixin.qq.com":
        if path.startswith(("/g/", "/gm/")):
            return AdHit("invite", f"{host}/{first}")
        if path.startswith(("/r/", "/u/", "/ca/")):
            return AdHit("contact", f"{host}/{first}")
    if host in _PAYMENT_HOSTS:
        return AdHit("link", host)
    if _allowed(host, rules.allow_domains):
        return None
    return AdHit("link", host)


def _written_as_link(found: str) -> bool:
    if "://" in found or found.startswith("www."):
        return True
    host, slash, _ = found.partition("/")
    labels = host.partition(":")[0].split(".")
    return bool(slash) or len(labels) > 2 or labels[-1] not in _WORD_TLDS or any(
        char.isdigit() or char == "-" for char in labels[0]
    )


def _links_in(norm: str) -> list[str]:
    found = [url for url in _URL.findall(norm) if _written_as_link(url)] if "." in norm or "://" in norm else []
    if "点" in norm or "。" in norm or "(" in norm or "[" in norm:
        for spelt in _SPELT_URL.findall(norm):
            host = _SPELT_DOT.sub(".", spelt)
            if any("a" <= char <= "z" for char in host.rpartition(".")[0]):  # not "12点com"
                found.append(host)
    return found


def has_link(text: str, *, urls: Iterable[str] = ()) -> bool:
    """Any link at all, allow-listed or not (bare "www.x.top" and "abc.xyz/..." count): the newcomer rule."""
    for url in urls:
        if url:
            return True
    if not text or _GATE.search(text) is None:
        return False
    return bool(_links_in(normalise(text)))


# ------------------------------------------------------------------------------------------ contacts

_NUMERALS = str.maketrans("零〇幺一二三四五六七八九壹贰叁肆伍陆柒捌玖", "001123456789123456789")
_ID_CHAR = "a-z0-9_零〇幺一二三四五六七八九壹贰叁肆伍陆柒捌玖-"
_ID = rf"[@+]?[{_ID_CHAR}](?:[{_ID_CHAR}]|[ .](?=[{_ID_CHAR}]))*"
_GAP = r"(?:\s|[:=❤💬]|号码|同号|号是|号|是|为|id|me|on|at|\([^()]{0,10}\))*"
_CHANNEL = (
    r"(?:微信|薇信|威信|徽信|威心|微心|薇心|维信|卫星|v信|[微薇威徽]\s*❤|(?<![a-z0-9])(?:wechat|weixin|vx|wx|whatsapp|"
    r"telegram|viber|kik|line\s*id|qq|tg)|扣扣|企鹅|🐧|(?<![a-z0-9])v\s*❤|(?:加|\+)\s*(?:我|个)?\s*(?:vx|v|q|威|薇|微|徽|卫|扣|企鹅))"
)
_CONTACT_ID = re.compile(rf"(?P<channel>{_CHANNEL})(?P<gap>{_GAP})(?P<id>{_ID})")
_HEART_ID = re.compile(rf"(?:❤|💬)\s*[:=]\s*(?P<id>{_ID})")
_GROUP_NUMBER = re.compile(rf"(?:qq|q|扣扣|企鹅|🐧)\s*群\s*(?:号)?\s*[:=]?\s*(?P<id>{_ID})")
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[\s-]?)?1[\s.-]{0,3}[3-9](?:[\s.-]{0,3}\d){9}(?!\d)")
_MASKED_MOBILE = re.compile(r"(?<!\d)1[3-9]\d[\s-]?[*x×#]{4}[\s-]?\d{4}(?!\d)")
_SEEKING_BEFORE = re.compile(
    r"(?:加|联系|咨询|详询|私|短信|同号|微|薇|威|徽|(?<![a-z])(?:vx|wx|v|dd)|滴滴|找我|call me|text me|whatsapp|telegram)"
    r"(?:\W{0,3}\w{0,4}){0,2}\W{0,3}$"
)
_SEEKING_AFTER = re.compile(r"^\W{0,3}(?:微信|薇信|威信|vx|wx|v|同号|加我|联系|咨询|私)")
_CONTACT_HINT = re.compile(r"\d|[:=@]|[零〇幺一二三四五六七八九壹贰叁肆伍陆柒捌玖]{3}")
_MEDICAL = re.compile(r"医院|诊所|卫生|妇幼|门诊|急诊|医生|护士|科室|保健院|热线|hospital|clinic|doctor|nurse|midwife|\bgp\b|surgery")


def _clean_id(raw: str) -> tuple[str, int]:
    """The id without the spaces and dots spammers put in it, and how many digits it has."""
    tokens = raw.split()
    kept: list[str] = []
    digits_seen = False
    for token in tokens:  # stop at the first plain word after the id ("mama0000 for price")
        token_digits = any(char.isdigit() for char in token.translate(_NUMERALS))
        if digits_seen and not token_digits and len(token) > 3:
            break
        kept.append(token)
        digits_seen = digits_seen or token_digits
    clean = "".join(kept).replace(".", "").strip("-_")
    digits = sum(char.isdigit() for char in clean.translate(_NUMERALS))
    return clean, digits


def _is_id(raw: str, explicit: bool) -> str | None:
    clean, digits = _clean_id(raw)
    body = clean.lstrip("@+")
    if len(body) >= 5 and (digits >= 5 or (digits >= 3 and len(body) >= 6)):
        return clean[:32]
    if explicit and len(body) >= 6 and re.fullmatch(r"[a-z][a-z0-9_-]{5,}", body):
        return clean[:32]
    return None


def _find_contact(norm: str) -> AdHit | None:
    if _CONTACT_HINT.search(norm) is None:  # every id has digits, a run of Chinese numerals, or a ":"/"@"
        return None
    for match in _GROUP_NUMBER.finditer(norm):
        found = _is_id(match["id"], explicit=True)
        if found is not None:
            return AdHit("invite", found)
    for match in _CONTACT_ID.finditer(norm):
        explicit = ":" in match["gap"] or "=" in match["gap"] or match["id"].startswith("@")
        found = _is_id(match["id"], explicit)
        if found is not None:
            return AdHit("contact", found)
    for match in _HEART_ID.finditer(norm):
        found = _is_id(match["id"], explicit=True)
        if found is not None:
            return AdHit("contact", found)
    masked = _MASKED_MOBILE.search(norm)
    if masked is not None:
        return AdHit("contact", masked.group())
    medical = None
    for match in _MOBILE.finditer(norm):
        before = norm[max(0, match.start() - 12) : match.start()]
        after = norm[match.end() : match.end() + 8]
        if _SEEKING_BEFORE.search(before) or _SEEKING_AFTER.search(after):
            if medical is None:
                medical = _MEDICAL.search(norm) is not None
            if not medical:
                return AdHit("contact", re.sub(r"[\s.-]", "", match.group()))
    return None


# ------------------------------------------------------------------------------------------ lexicon


@dataclass(frozen=True, slots=True)
class _Term:
    needle: str
    weight: int
    kind: int
    pattern: re.Pattern[str] | None


def _word_pattern(needle: str) -> re.Pattern[str] | None:
    """English needles match whole words only ("loan" is not in "loaned"...; "dm me" not in "adm me")."""
    if not needle.isascii() or not needle[0].isalpha():
        return None
    return re.compile(rf"(?<![a-z]){re.escape(needle)}(?![a-z])")


# Characters ordered roughly by how often they occur in group chat (everyday words first, then the FAQ
# knowledge base's most frequent characters); a term is indexed under its rarest character.
_COMMON = (
    "的一了是我不在人有这个们妈宝要你就也好吗啊都会和到说大家可以没么看还什样很上下天去过能来得出里时候给"
    "多想自己用为子小点那吃睡觉奶哈月现开后买生吧姐妹问道知如果但经真心起着对只做加发前其实然信微需每次中"
    "长儿童婴新手方法意思东西事情打电话面年今明昨早晚最近快慢喝水食物因所被把让从更已帮同区医院孩二三四五"
    "六七八九十两几百千万或国乳怎少体产喂常尿寶周分孕重岁请安量头指温红洗吐口学动科全热服牙便卫理正干养按"
    "带哭布吸烧内母痛期完黄间血胎药身色白约消种湿放接毒疫防建粉太即换等轻疗组嘴醒坐反感数立补保办娃疹先美"
    "界议久素肚甲比织穿英务合苗肿床辅嗎减世澡包护清伤腹续复别流始持椅夜高精般病规定拉擦行住硬断拍剪麼直第"
    "回健再酸眠脐维退神应南配度衣必冷超冲房瓶尽破诊性低变脸显敏部钟见差处软含掉咳龄气外风通净并停晒增屁边"
    "抱蚊品才进皮力疸够露叶卡止准呼压排闹越菌膏频左当提算急拨门查巾声无蛋右与检座妇鱼宫升紧难炎入严容车幼"
    "围怀鼻侧毫器成哪预位液险泻平片翻线适些于证幾疼走息涂避易脱短向背语之营降化秘仍腿马备积染状管表程地凉"
    "糖股呕特裤他刷受整脓异繁空康活落助半育往缩机告代酒装剂肤冒老洁单照至效饮花肠嗽鹅件待视鸡恶郁腺由玩困"
    "叫海缺留眼作引足熟听范离疮颗抑基唇针类本调委及"
)
_RANK = {char: rank for rank, char in enumerate(_COMMON)}


def _anchor(needle: str) -> str:
    return max(needle, key=lambda char: (_RANK.get(char, len(_COMMON)), char.isascii()))


def _build_index(terms: Iterable[_Term]) -> dict[str, tuple[_Term, ...]]:
    """Terms by anchor; the ones without a needle under "" (tried whenever the message is looked at)."""
    index: dict[str, list[_Term]] = {}
    for term in terms:
        index.setdefault(_anchor(term.needle) if term.needle else "", []).append(term)
    return {char: tuple(found) for char, found in index.items()}


def _literal(needle: str, weight: int) -> _Term:
    needle = normalise(needle)
    kind = CALL if needle in _CALLS else BOTH if needle in _CALLS_WITH_OFFER or weight >= _THRESHOLD else OFFER
    return _Term(needle, weight, kind, _word_pattern(needle))


def _all_terms() -> list[_Term]:
    terms = [_literal(term, _THRESHOLD) for term in DEFAULT_SPAM_TERMS]
    terms += [_literal(needle, weight) for weight, needles in _TERMS for needle in needles]
    terms += [_Term(needle, weight, kind, re.compile(pattern)) for weight, needle, pattern, kind in _PATTERNS]
    return terms


_INDEX = _build_index(_all_terms())
_ALWAYS = _INDEX.pop("", ())
_ANCHORS = frozenset(_INDEX)


def _score(norm: str, least: int = 0) -> tuple[int, int, str]:
    """The summed weight of the terms found (those weighing at least ``least``), their kinds (OFFER | CALL)
    and the weightiest one for the evidence. A term found inside a longer one ("团购" in "团购价", "私聊" in
    "价格私聊") does not count again."""
    found: list[tuple[int, int, int, int, str]] = []  # (start, end, weight, kind, text)
    for char in _ANCHORS.intersection(norm):
        for term in _INDEX[char]:
            _match(term, norm, found)
    for term in _ALWAYS:
        _match(term, norm, found)
    if len(found) > 1:
        found.sort(key=lambda item: (item[0] - item[1], -item[2]))  # longest first
        kept: list[tuple[int, int, int, int, str]] = []
        for item in found:
            for index, other in enumerate(kept):
                if other[0] <= item[0] and item[1] <= other[1]:  # inside: the longer one keeps the higher weight
                    kept[index] = (other[0], other[1], max(other[2], item[2]), other[3] | item[3], other[4])
                    break
            else:
                kept.append(item)
        found = kept
    score, kinds, best, best_weight = 0, 0, "", 0
    for _, _, weight, kind, text in found:
        if weight < least:
            continue
        score += weight
        kinds |= kind
        if weight > best_weight or (weight == best_weight and len(text) > len(best)):
            best, best_weight = text, weight
    if best_weight >= _THRESHOLD:
        kinds = BOTH  # a decisive term is enough on its own
    return score, kinds, best


def _match(term: _Term, norm: str, found: list[tuple[int, int, int, int, str]]) -> None:
    if term.pattern is None:
        start = norm.find(term.needle)
        if start != -1:
            found.append((start, start + len(term.needle), term.weight, term.kind, term.needle))
        return
    if term.needle and term.needle not in norm:
        return
    match = term.pattern.search(norm)
    if match is not None:
        found.append((match.start(), match.end(), term.weight, term.kind, match.group().strip()))


def _find_lexicon(norm: str) -> AdHit | None:
    score, kinds, best = _score(norm)
    if score < _THRESHOLD or not kinds & OFFER or (not kinds & CALL and score < _THRESHOLD + 1):
        return None
    if _WARNING.search(norm):
        return None
    if _QUESTION.search(norm):
        score -= 2
    if _SECOND_HAND.search(norm):
        score -= 2
    if score >= _THRESHOLD and _OFFICIAL.search(norm):
        score, _, best = _score(norm, least=_THRESHOLD)
    if score < _THRESHOLD:
        return None
    return AdHit("lexicon", best[:32])


@lru_cache(maxsize=64)
def _extra_terms(terms: tuple[str, ...]) -> tuple[tuple[str, str, re.Pattern[str] | None], ...]:
    return tuple((term, normalise(term), _word_pattern(normalise(term))) for term in terms if term.strip())


def _find_extra(norm: str, terms: tuple[str, ...]) -> AdHit | None:
    for term, needle, pattern in _extra_terms(terms):
        if needle in norm and (pattern is None or pattern.search(norm)):
            return AdHit("lexicon", term[:32])
    return None


# ------------------------------------------------------------------------------------------ the pre-check

# Every rule needs one of these characters (as written, before normalising): ASCII letters and digits
# (links, ids, numbers, English), the anchor of every term in its simplified and traditional forms, the
# contact symbols, and the compatibility blocks NFKC folds into any of those. A plain chat line has none.
_TRADITIONAL_OF: dict[str, str] = {}
for _traditional, _simplified in zip(_TRADITIONAL, _SIMPLIFIED, strict=True):
    _TRADITIONAL_OF[_simplified] = _TRADITIONAL_OF.get(_simplified, "") + _traditional
del _traditional, _simplified
# Terms indexed under a very common character ("需要的", "用了这个") are boosters: they count once the
# message is being looked at, but do not open the gate themselves (alone they never make an ad).
_BOOSTER_RANK = 250
_GATE_CHARS = "".join(
    sorted(
        {
            char
            for anchor in _ANCHORS
            if _RANK.get(anchor, len(_COMMON)) >= _BOOSTER_RANK
            for char in anchor + _TRADITIONAL_OF.get(anchor, "")
        }
    )
)
_GATE_CHARS += "微薇威徽卫扣企🐧➕✚❤♥💗💬@＠"
_GATE = re.compile(
    "[0-9A-Za-z"
    + re.escape("".join(sorted(set(_GATE_CHARS) - set("0123456789"))))
    + "\u00aa-\u00ba\u2070-\u209f\u2100-\u218f\u2460-\u24ff\u2776-\u2793\u2e80-\u2fdf\u3220-\u33ff"
    "\uf900-\ufaff\uff0b\uff0e\uff10-\uff19\uff20-\uff3a\uff41-\uff5a\U0001d400-\U0001d7ff\U0001f100-\U0001f1ff\U0002f800-\U0002fa1f]"
)


# ------------------------------------------------------------------------------------------ the API


def find_ad(text: str, rules: AdRules = _DEFAULT_RULES, *, urls: Iterable[str] = ()) -> AdHit | None:
    """The reason ``text`` is an ad, or None. ``urls``: links the platform found outside the visible text."""
    for url in urls:
        hit = _url_verdict(url, rules)
        if hit is not None:
            return hit
    if not text:
        return None
    if not rules.extra_terms and _GATE.search(text) is None:
        return None
    norm = normalise(text)
    if rules.extra_terms:
        hit = _find_extra(norm, rules.extra_terms)
        if hit is not None:
            return hit
    links = _links_in(norm)
    for url in links:
        hit = _url_verdict(url, rules)
        if hit is not None:
            return hit
    if links:  # an id-looking piece of an allowed link ("xhslink.com/a/Qq11...") is not a contact
        norm = _URL.sub(" ", norm)
    return _find_contact(norm) or _find_lexicon(norm)


_CONTACT_CARD = ("tel:", "sms:", "smsto:", "mailto:", "begin:vcard", "mecard:", "matmsg:", "wxid_")
_BARE_ID = re.compile(r"[a-z][a-z0-9_-]{5,19}|\+?\d(?:[\s-]?\d){4,10}")


def qr_verdict(payload: str, rules: AdRules = _DEFAULT_RULES) -> AdHit | None:
    """A QR code decoded from a photo. Links are judged like links in text (an allow-listed site passes;
    WeChat contact, group and payment codes, other apps' schemes and unknown sites do not); a contact card,
    a phone number or an id alone is "contact"; other text is judged like a message, so a plain sentence or
    a Wi-Fi code passes."""
    raw = payload.strip()
    if not raw:
        return None
    norm = normalise(raw)
    if norm.startswith(_PAYMENT_SCHEMES):
        return AdHit("link", norm.partition(":")[0] + "://")
    if norm.startswith(_CONTACT_CARD):
        return AdHit("contact", norm.partition(":")[0].partition("\n")[0][:32])
    scheme = re.match(r"([a-z][a-z0-9+.-]{1,15}):", norm)
    if scheme is not None and scheme.group(1) not in ("http", "https") and "://" in norm[:24]:
        return AdHit("link", scheme.group(1) + "://")
    links = _links_in(norm)
    for url in links:
        hit = _url_verdict(url, rules)
        if hit is not None:
            return hit
    hit = find_ad(raw, rules)
    if hit is not None:
        return hit
    if links:
        return None
    if _BARE_ID.fullmatch(norm):  # a WeChat id with digits, or a QQ/phone number, and nothing else
        found = _is_id(norm, explicit=False)
        if found is not None:
            return AdHit("contact", found)
    mobile = _MOBILE.search(norm) or _MASKED_MOBILE.search(norm)
    if mobile is not None:
        return AdHit("contact", re.sub(r"[\s.-]", "", mobile.group()))
    return None


_WORD_JUNK = re.compile(r"[\s\W_]+")


@lru_cache(maxsize=4096)
def _banned(word: str) -> tuple[str, re.Pattern[str] | None, str]:
    needle = normalise(word.strip())
    compact = _WORD_JUNK.sub("", needle)
    return needle, _word_pattern(needle) if needle.isascii() and needle.replace(" ", "").isalnum() else None, compact


def find_banned_word(text: str, words: Iterable[str]) -> str | None:
    """The first of the operator's banned ``words`` in ``text``, compared after the same normalising
    (full-width, case, traditional characters); Chinese words also match with spaces or symbols inside
    ("刷 单", "刷.单"), English ones only as whole words. Returns the word as configured."""
    if not text:
        return None
    norm = normalise(text)
    compact: str | None = None
    for word in words:
        needle, pattern, squeezed = _banned(word)
        if not needle:
            continue
        if pattern is not None:
            if needle in norm and pattern.search(norm):
                return word
            continue
        if needle in norm:
            return word
        if squeezed and not squeezed.isascii():
            if compact is None:
                compact = _WORD_JUNK.sub("", norm)
            if squeezed in compact:
                return word
    return None
