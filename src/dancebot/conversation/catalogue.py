"""Every fixed text the bot sends, per language (SPEC §2). The KB's `messages` section overrides any key.

Texts for the admin chat (keys ending in `_admin`) exist in Russian only: the studio's administrator
reads the studio's language whatever language the client writes in.

Texts take `str.format` fields; a missing field is a programming error caught by the catalogue test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["TEXTS", "Catalogue"]

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "text_only": "Я понимаю только текст 😊 Напишите, пожалуйста, словами.",
        "greeting": "Здравствуйте! Это {studio} 💃 Подскажу расписание, цены и запишу на занятие. Что вас интересует?",
        "greeting_again": "Здравствуйте! Чем помочь: записать на занятие, подсказать расписание или цены?",
        "handoff": "Передаю администратору ⏳",
        "already_booked": "Вы уже записаны ✅",
        "thanks": "Пожалуйста! Если что-то ещё понадобится — пишите 😊",
        "clarify": "Подскажите, что вас интересует: запись на занятие, расписание или цены?",
        "admin_usage": "Команды: /reply {{chat_id}} текст — ответить клиенту; /close {{chat_id}} — закрыть диалог.",
        "ask_style": "На какое направление хотите?",
        "ask_style_teacher": "{teacher} ведёт несколько направлений. Какое выбираете?",
        "ask_datetime": "Ближайшие занятия «{style}» — выберите удобное:",
        "no_match_time": "В это время «{style}» нет. Ближайшие — выберите удобное:",
        "no_classes": "Ближайших занятий «{style}» в расписании нет. Передать вопрос администратору?",
        "several_match": "Нашла несколько вариантов — какой подходит?",
        "out_of_window": "Так далеко расписание ещё не открыто (запись на {days} дней вперёд). Ближайшие занятия:",
        "bad_time": "Такого времени не бывает. Во сколько вам удобно?",
        "past_time": "Это время уже прошло. Ближайшие занятия:",
        "holiday": "{day} занятий нет: {reason}. Ближайшие занятия:",
        "ask_name": "Как вас зовут?",
        "ask_name_other": "Как зовут того, кого записываем?",
        "ask_phone": "Оставьте, пожалуйста, номер телефона — можно кнопкой ниже.",
        "bad_phone": "Кажется, в номере ошибка. Напишите, пожалуйста, в формате +7 914 123-45-67.",
        "summary": "Проверьте, пожалуйста:\n{who}\nТелефон: {phone}\n{klass}\n{when}\n{where}\nВсё верно?",
        "summary_who": "Имя: {name}",
        "summary_who_other": "Записываем: {name}",
        "yes_button": "Да, записать",
        "no_button": "Нет, изменить",
        "what_to_change": "Что поменять: время, направление или контакты?",
        "receipt": "Готово, вы записаны ✅\n{klass}, {when}\n{where}\nС собой: {bring}",
        "rejected_full": "Увы, на это занятие мест уже нет.",
        "rejected_closed": "Увы, в эту группу сейчас не набирают.",
        "rejected_other": "Не получилось записать на это занятие.",
        "choose_another": "Выберите, пожалуйста, другое:",
        "fallback_booking": "Сейчас не могу связаться с расписанием. Заявку записала — администратор подтвердит запись и напишет вам ⏳",
        "crm_down_info": "Сейчас не могу проверить расписание — уточню у администратора и вернусь с ответом.",
        "aborted": "Хорошо, ничего не записываю. Если передумаете — пишите 😊",
        "still_relevant": "Ещё актуально? Могу записать: {summary_line}",
        "expired": "Запись не подтвердили, я её не оформляла. Если захотите — напишите снова 😊",
        "unknown_style": "Такого направления у нас нет. Есть: {options}. Что ближе?",
        "two_styles": "С какого направления начнём: {a} или {b}?",
        "schedule_header": "Ближайшие занятия:",
        "schedule_more": "Есть и другие даты — уточните день или направление.",
        "schedule_empty": "По этому запросу занятий нет. Ближайшие:",
        "schedule_pick": "Записать на одно из них?",
        "pending_again": "А по записи: {question}",
        "reprompt_limit": "Кажется, я вас не понимаю. Позвать администратора?",
        "admin_button": "Позвать администратора",
        "lateness": "Спасибо, что предупредили! {policy} Передам администратору.",
        "lateness_admin": "⏰ Клиент {who} опаздывает: «{text}»",
        "ask_phone_for_bookings": "Подскажите номер телефона, на который вы записывались.",
        "no_bookings": "Не нашла будущих записей на этот номер. Передать вопрос администратору?",
        "my_bookings": "Ваши записи:\n{lines}",
        "which_cancel": "Какую запись отменить?",
        "confirm_cancel": "Отменить запись: {line}?",
        "late_cancel_warning": "До занятия меньше {hours} ч — по правилам студии это поздняя отмена. Всё равно отменить {line}?",
        "cancelled": "Запись отменена: {line}.",
        "cancel_declined": "Хорошо, запись остаётся в силе 😊",
        "cancel_failed": "Не получилось отменить — передала администратору, он подтвердит.",
        "series_ask_count": "На какие даты записать? Например: «все среды» или «3 занятия по пн и ср».",
        "series_summary": "Проверьте, пожалуйста:\n{who}, {phone}\n{klass}\n{lines}\nЗаписать на все?",
        "series_too_many": "Можно записать сразу не больше чем на {max} занятий — беру первые {max}.",
        "series_receipt": "Готово ✅ {klass}:\n{lines}\n{where}\nС собой: {bring}",
        "series_failed_line": "{line} — не получилось ({reason})",
        "unknown_question": "Уточню у администратора и вернусь с ответом.",
        "handoff_admin": "🙋 Клиент {who} ({channel}, сейчас: {state})\nПричина: {reason}\nПоследнее: {history}\nОтветить: /reply {handle} текст",
        "question_admin": "❓ Вопрос клиента {who}: «{text}»\nОтветить: /reply {handle} текст",
        "relay_admin": "💬 {who}: {text}\nОтветить: /reply {handle} текст",
        "admin_later": "Администратор ответит чуть позже — мы вас не забыли.",
        "handoff_again_admin": "⏳ Клиент {handle} ждёт ответа администратора уже 2 часа.",
    },
    "en": {
        "text_only": "I only understand text 😊 Please write in words.",
        "greeting": "Hi! This is {studio} 💃 I can show the schedule, prices and book a class. What would you like?",
        "greeting_again": "Hi! How can I help: book a class, show the schedule or prices?",
        "handoff": "Passing you to the administrator ⏳",
        "already_booked": "You're already booked ✅",
        "thanks": "You're welcome! Write any time 😊",
        "clarify": "What are you interested in: booking a class, the schedule or prices?",
        "admin_usage": "Commands: /reply {{chat_id}} text — answer a client; /close {{chat_id}} — close the dialogue.",
        "ask_style": "Which style would you like?",
        "ask_style_teacher": "{teacher} teaches several styles. Which one?",
        "ask_datetime": "The nearest {style} classes — pick one:",
        "no_match_time": "No {style} class at that time. The nearest ones:",
        "no_classes": "There are no upcoming {style} classes. Shall I ask the administrator?",
        "several_match": "I found several options — which one?",
        "out_of_window": "The schedule isn't open that far yet (booking is {days} days ahead). The nearest classes:",
        "bad_time": "That time doesn't exist. What time suits you?",
        "past_time": "That time has passed. The nearest classes:",
        "holiday": "No classes on {day}: {reason}. The nearest classes:",
        "ask_name": "What's your name?",
        "ask_name_other": "What's the name of the person we're booking?",
        "ask_phone": "Please leave your phone number — you can use the button below.",
        "bad_phone": "The number looks wrong. Please write it like +7 914 123-45-67.",
        "summary": "Please check:\n{who}\nPhone: {phone}\n{klass}\n{when}\n{where}\nIs that right?",
        "summary_who": "Name: {name}",
        "summary_who_other": "Booking for: {name}",
        "yes_button": "Yes, book it",
        "no_button": "No, change",
        "what_to_change": "What should I change: the time, the style or the contact?",
        "receipt": "Done, you're booked ✅\n{klass}, {when}\n{where}\nBring: {bring}",
        "rejected_full": "Sorry, that class is full.",
        "rejected_closed": "Sorry, that group is closed to new people.",
        "rejected_other": "I couldn't book that class.",
        "choose_another": "Please pick another one:",
        "fallback_booking": "I can't reach the schedule right now. Your request is recorded — the administrator will confirm and write to you ⏳",
        "crm_down_info": "I can't check the schedule right now — I'll ask the administrator and get back to you.",
        "aborted": "OK, I haven't booked anything. Write any time 😊",
        "still_relevant": "Still interested? I can book: {summary_line}",
        "expired": "The booking wasn't confirmed, so I didn't make it. Write again any time 😊",
        "unknown_style": "We don't have that style. We have: {options}. Which is closest?",
        "two_styles": "Which shall we start with: {a} or {b}?",
        "schedule_header": "The nearest classes:",
        "schedule_more": "There are more dates — tell me a day or a style.",
        "schedule_empty": "Nothing matches that. The nearest ones:",
        "schedule_pick": "Shall I book one of them?",
        "pending_again": "About your booking: {question}",
        "reprompt_limit": "I don't seem to understand. Shall I call the administrator?",
        "admin_button": "Call the administrator",
        "lateness": "Thanks for letting us know! {policy} I'll tell the administrator.",
        "lateness_admin": "⏰ Client {who} is running late: «{text}»",
        "ask_phone_for_bookings": "What phone number did you book with?",
        "no_bookings": "I found no upcoming bookings for that number. Shall I ask the administrator?",
        "my_bookings": "Your bookings:\n{lines}",
        "which_cancel": "Which booking should I cancel?",
        "confirm_cancel": "Cancel the booking: {line}?",
        "late_cancel_warning": "The class is less than {hours} h away — that's a late cancellation under the studio rules. Cancel {line} anyway?",
        "cancelled": "Booking cancelled: {line}.",
        "cancel_declined": "OK, the booking stays 😊",
        "cancel_failed": "I couldn't cancel it — I've passed it to the administrator, who will confirm.",
        "series_ask_count": "Which dates? For example: “every Wednesday” or “3 classes on Mon and Wed”.",
        "series_summary": "Please check:\n{who}, {phone}\n{klass}\n{lines}\nBook them all?",
        "series_too_many": "I can book at most {max} classes at once — taking the first {max}.",
        "series_receipt": "Done ✅ {klass}:\n{lines}\n{where}\nBring: {bring}",
        "series_failed_line": "{line} — not booked ({reason})",
        "unknown_question": "I'll check with the administrator and get back to you.",
        "admin_later": "The administrator will answer a bit later — we haven't forgotten you.",
    },
}


class Catalogue:
    """Looks a key up in the KB overrides, then the language's texts, then Russian."""

    def __init__(self, overrides: Mapping[str, str] | None = None, *, kb_language: str = "ru", **defaults: Any):
        self._overrides = dict(overrides or {})
        self._kb_language = kb_language
        self._defaults = defaults

    def text(self, key: str, lang: str = "ru", **fields: Any) -> str:
        template = self._overrides.get(key) if lang == self._kb_language else None
        if template is None:
            template = TEXTS.get(lang, TEXTS["ru"]).get(key) or TEXTS["ru"][key]
        return template.format(**{**self._defaults, **fields})
