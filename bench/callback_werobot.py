"""WeRoBot's quick-start setup (its default server and SQLite session storage), for comparison."""
import os

import werobot

robot = werobot.WeRoBot(token=os.environ["WECHAT_TOKEN"])


@robot.text
def points(message, session):
    session["last"] = message.content
    return "您的积分余额：1200 分"


robot.config["HOST"] = "127.0.0.1"
robot.config["PORT"] = int(os.environ["PORT"])
robot.run(enable_pretty_logging=False)
